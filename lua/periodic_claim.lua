-- periodic_claim.lua: one tick of a periodic entry (or one `run now` request), enqueued once
-- whatever the number of nodes asking: the entry's state remembers the last tick handled, and a
-- tick not later than it was handled already. A paused entry's tick is handled and pushes nothing.
-- KEYS[1]   `verk:periodic:<name>` (cluster: `verk:periodic:{<queue>}:<name>`)  the entry's state,
--           a hash: `last` (tick handled), `enqueued` (tick pushed), `paused` ('1'), `run` (request)
-- KEYS[2]   `queue:<queue>`          the queue's list
-- KEYS[3]   `queues` (optional)      set of every queue name pushed to; the cluster key scheme
--                                    leaves it out (another slot) and registers the name first
-- ARGV[1]   the queue's name
-- ARGV[2]   the notification channel; 'work:<queue>' is published on it; '' publishes nothing
-- ARGV[3]   seconds the state is kept after this call
-- ARGV[4]   'tick' or 'run'
-- ARGV[5]   the tick (epoch milliseconds), or the time of the `run now` request it answers
-- ARGV[6]   the job's payload
-- Returns: 1 pushed, 0 taken already (by another node or an earlier call), 2 paused (handled, not pushed).
local at = tonumber(ARGV[5])
if ARGV[4] == 'run' then
  if tonumber(redis.call('HGET', KEYS[1], 'run')) ~= at then
    return 0
  end
  redis.call('HDEL', KEYS[1], 'run')
else
  local last = tonumber(redis.call('HGET', KEYS[1], 'last'))
  if last and last >= at then
    return 0
  end
  redis.call('HSET', KEYS[1], 'last', ARGV[5])
  if redis.call('HGET', KEYS[1], 'paused') == '1' then
    redis.call('EXPIRE', KEYS[1], ARGV[3])
    return 2
  end
  redis.call('HSET', KEYS[1], 'enqueued', ARGV[5])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
if KEYS[3] then
  redis.call('SADD', KEYS[3], ARGV[1])
end
redis.call('LPUSH', KEYS[2], ARGV[6])
if ARGV[2] ~= '' then
  redis.call('PUBLISH', ARGV[2], 'work:' .. ARGV[1])
end
return 1
