-- ack.lua: remove finished jobs from a node's in-progress entries, by their tokens.
-- KEYS[1]   `inprogress:<name>:<node>`  hash: token → payload
-- KEYS[2]   `verk:batches:<name>:<node>`  hash: batch list → jobs of it still in progress
-- ARGV[1..] pairs: a job's token, then the batch list it was taken whole into (fetch.lua), or ''
-- Returns: how many were removed.
-- Takes `token` out of the in-progress entries; when it was taken whole (fetch.lua) with `batch`,
-- counts the batch down and deletes its list with its last job.
local function settle(inProgress, batches, token, batch)
  local removed = redis.call('HDEL', inProgress, token)
  if removed == 1 and batch ~= '' and redis.call('HEXISTS', batches, batch) == 1 then
    if redis.call('HINCRBY', batches, batch, -1) <= 0 then
      redis.call('DEL', batch)
      redis.call('HDEL', batches, batch)
    end
  end
  return removed
end
local removed = 0
for i = 1, #ARGV - 1, 2 do
  removed = removed + settle(KEYS[1], KEYS[2], ARGV[i], ARGV[i + 1])
end
return removed
