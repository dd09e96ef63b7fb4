-- materialize.lua (included by requeue_orphans.lua, requeue_inprogress.lua and
-- recover_inprogress.lua, see packages/redis/build/embedLua.ts):
-- Jobs taken whole (fetch.lua) have an empty entry and their payload in a batch list: each entry
-- still here gets its payload back, and the batch lists go.
local function materialize(inProgress, batches)
  local flat = redis.call('HGETALL', batches)
  for i = 1, #flat, 2 do
    local list = flat[i]
    local first = tonumber(string.match(list, ':(%-?%d+)$'))
    local jobs = redis.call('LRANGE', list, 0, -1)
    for j = 1, #jobs do
      local token = string.format('%.0f', first + #jobs - j)
      if redis.call('HEXISTS', inProgress, token) == 1 then
        redis.call('HSET', inProgress, token, jobs[j])
      end
    end
    redis.call('DEL', list)
  end
  redis.call('DEL', batches)
end
