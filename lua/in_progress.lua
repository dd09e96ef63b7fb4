-- in_progress.lua: a node's in-progress entries of a queue, with the payloads of jobs taken whole
-- (fetch.lua) read from their batch lists. Reads only.
-- KEYS[1]  `inprogress:<name>:<node>`  hash: token → payload (empty for a job taken whole)
-- KEYS[2]  `verk:batches:<name>:<node>`  hash: batch list → jobs of it still in progress
-- Returns: token, payload, token, payload...
-- #include whole_jobs.lua
local flat = redis.call('HGETALL', KEYS[1])
local whole = wholeJobs(KEYS[2])
for i = 1, #flat, 2 do
  local payload = whole[flat[i]]
  if payload ~= nil then
    flat[i + 1] = payload
  end
end
return flat
