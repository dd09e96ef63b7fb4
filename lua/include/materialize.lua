-- materialize.lua (included by requeue_orphans.lua and newest_first.lua, see
-- packages/redis/build/embedLua.ts):
-- #include whole_jobs.lua
-- Jobs taken whole (fetch.lua) have an empty entry and their payload in a batch list: each entry
-- still here gets its payload back, and the batch lists go.
local function materialize(inProgress, batches)
  local payloads, lists = wholeJobs(batches)
  for token, payload in pairs(payloads) do
    if redis.call('HEXISTS', inProgress, token) == 1 then
      redis.call('HSET', inProgress, token, payload)
    end
  end
  for i = 1, #lists do
    redis.call('DEL', lists[i])
  end
  redis.call('DEL', batches)
end
