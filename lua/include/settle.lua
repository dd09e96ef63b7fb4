-- settle.lua (included by ack.lua, retry.lua and kill.lua, see packages/redis/build/embedLua.ts):
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
