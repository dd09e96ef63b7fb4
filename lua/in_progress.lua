-- in_progress.lua: a node's in-progress entries of a queue, with the payloads of jobs taken whole
-- (fetch.lua) read from their batch lists. Reads only.
-- KEYS[1]  `inprogress:<name>:<node>`  hash: token → payload (empty for a job taken whole)
-- KEYS[2]  `verk:batches:<name>:<node>`  hash: batch list → jobs of it still in progress
-- Returns: token, payload, token, payload...
local flat = redis.call('HGETALL', KEYS[1])
local lists = redis.call('HKEYS', KEYS[2])
if #lists == 0 then
  return flat
end
local whole = {}
for i = 1, #lists do
  local first = tonumber(string.match(lists[i], ':(%-?%d+)$'))
  local jobs = redis.call('LRANGE', lists[i], 0, -1)
  for j = 1, #jobs do
    whole[string.format('%.0f', first + #jobs - j)] = jobs[j]
  end
end
for i = 1, #flat, 2 do
  local payload = whole[flat[i]]
  if payload ~= nil then
    flat[i + 1] = payload
  end
end
return flat
