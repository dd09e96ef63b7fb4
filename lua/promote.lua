-- promote.lua: move given members of a sorted set (schedule, retry or dead) to their queues,
-- each only if it is still in the set, so that several nodes promoting at once move it once.
-- Serves both promotion of due jobs and "requeue now".
-- KEYS[1]   the sorted set (`schedule`, `retry` or `dead`)
-- KEYS[2]   `queues`
-- KEYS[3]   `dead`
-- ARGV[1]   the key prefix (namespace), '' for none; queue keys are built as <prefix>queue:<name>
-- ARGV[2]   the notification channel; 'work:<name>' is published once per queue pushed to
-- ARGV[3]   score for members sent to dead, epoch seconds
-- ARGV[4..] triples: raw member, payload to write, queue name ('' sends the payload to dead)
-- Returns: how many members were moved.
local moved = 0
local woken = {}
for i = 4, #ARGV, 3 do
  local raw, payload, queue = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('ZREM', KEYS[1], raw) == 1 then
    if queue == '' then
      redis.call('ZADD', KEYS[3], ARGV[3], payload)
    else
      redis.call('LPUSH', ARGV[1] .. 'queue:' .. queue, payload)
      redis.call('SADD', KEYS[2], queue)
      woken[queue] = true
    end
    moved = moved + 1
  end
end
for queue in pairs(woken) do
  redis.call('PUBLISH', ARGV[2], 'work:' .. queue)
end
return moved
