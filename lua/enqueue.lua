-- enqueue.lua: push jobs onto a queue, register the queue's name and wake idle nodes, in one
-- round trip.
-- KEYS[1]   `queues`        set of every queue name ever pushed to
-- KEYS[2]   `queue:<name>`  the queue's list
-- ARGV[1]   the queue's name
-- ARGV[2]   the notification channel (`verk:notify`); 'work:<name>' is published on it
-- ARGV[3..] job payloads, oldest first; each is LPUSHed, so the first runs first
-- Returns: the queue's length afterwards.
redis.call('SADD', KEYS[1], ARGV[1])
local length = redis.call('LLEN', KEYS[2])
-- LPUSH in chunks: unpack() of thousands of values overflows Lua's stack.
local chunk = 1000
for first = 3, #ARGV, chunk do
  length = redis.call('LPUSH', KEYS[2], unpack(ARGV, first, math.min(first + chunk - 1, #ARGV)))
end
redis.call('PUBLISH', ARGV[2], 'work:' .. ARGV[1])
return length
