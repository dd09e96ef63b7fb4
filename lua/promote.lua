-- promote.lua: move given members of a sorted set (schedule, retry or dead) to their queues,
-- each only if it is still in the set, so that several nodes promoting at once move it once.
-- Serves both promotion of due jobs and "requeue now". Every key it writes is passed in KEYS, so
-- that in the cluster key scheme (one queue's keys share a slot) the caller sends one queue's
-- promotions per call.
-- KEYS[1]       the sorted set (`schedule`, `retry` or `dead`)
-- KEYS[2]       `dead`
-- KEYS[3..2+N]  the queues pushed to (`queue:<name>`), N = ARGV[3]
-- KEYS[3+N]     `queues` (optional): the queue names are added to it; the cluster key scheme
--               leaves it out (another slot) and registers the names first
-- ARGV[1]       the notification channel; 'work:<name>' is published once per queue pushed to;
--               '' publishes nothing (the cluster key scheme's caller publishes on its sharded channel)
-- ARGV[2]       score for members sent to dead, epoch seconds
-- ARGV[3]       N, how many queue keys follow KEYS[2]
-- ARGV[4..]     quadruples: raw member, payload to write, queue name, index of its key in
--               KEYS[3..2+N] (1-based; 0 sends the payload to dead, the name is then ignored)
-- Returns: { how many members were moved, the names of the queues pushed to }.
local queueCount = tonumber(ARGV[3])
local registry = KEYS[3 + queueCount]
local moved = 0
local woken = {}
for i = 4, #ARGV, 4 do
  local raw, payload, queue, index = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  if redis.call('ZREM', KEYS[1], raw) == 1 then
    if index == 0 then
      redis.call('ZADD', KEYS[2], ARGV[2], payload)
    else
      redis.call('LPUSH', KEYS[2 + index], payload)
      if registry then
        redis.call('SADD', registry, queue)
      end
      woken[queue] = true
    end
    moved = moved + 1
  end
end
local pushed = {}
for queue in pairs(woken) do
  pushed[#pushed + 1] = queue
  if ARGV[1] ~= '' then
    redis.call('PUBLISH', ARGV[1], 'work:' .. queue)
  end
end
return { moved, pushed }
