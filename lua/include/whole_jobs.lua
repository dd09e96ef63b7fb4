-- whole_jobs.lua (included by materialize.lua and in_progress.lua, see packages/redis/build/embedLua.ts):
-- The payloads of jobs taken whole (fetch.lua) by their tokens, and the batch lists holding them.
-- A list holds its batch newest first and is named after its first token (`…:<first>`).
local function wholeJobs(batches)
  local payloads, lists = {}, redis.call('HKEYS', batches)
  for i = 1, #lists do
    local first = tonumber(string.match(lists[i], ':(%-?%d+)$'))
    local jobs = redis.call('LRANGE', lists[i], 0, -1)
    for j = 1, #jobs do
      payloads[string.format('%.0f', first + #jobs - j)] = jobs[j]
    end
  end
  return payloads, lists
end
