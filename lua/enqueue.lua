-- enqueue.lua: push jobs onto a queue, register the queue's name and wake idle nodes, in one
-- round trip, once per token: ioredis sends a command again when its reply was lost to a
-- reconnect, and a call that already ran must not push its jobs twice.
-- KEYS[1]   `queue:<name>`           the queue's list
-- KEYS[2]   `verk:call:<name>:<token>`  the call's token, remembered for ARGV[3] seconds
-- KEYS[3]   `queues` (optional)      set of every queue name pushed to; the cluster key scheme
--                                    leaves it out (another slot) and registers the name first
-- ARGV[1]   the queue's name
-- ARGV[2]   the notification channel (`verk:notify`); 'work:<name>' is published on it; ''
--           publishes nothing (the cluster key scheme's caller publishes on its sharded channel)
-- ARGV[3]   how long the token is remembered, seconds
-- ARGV[4..] job payloads, oldest first; each is LPUSHed, so the first runs first
-- Returns: the queue's length afterwards, or -1 when the token was used already (nothing pushed).
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then
  return -1
end
if KEYS[3] then
  redis.call('SADD', KEYS[3], ARGV[1])
end
local length = redis.call('LLEN', KEYS[1])
-- LPUSH in chunks: unpack() of thousands of values overflows Lua's stack.
local chunk = 1000
for first = 4, #ARGV, chunk do
  length = redis.call('LPUSH', KEYS[1], unpack(ARGV, first, math.min(first + chunk - 1, #ARGV)))
end
if ARGV[2] ~= '' then
  redis.call('PUBLISH', ARGV[2], 'work:' .. ARGV[1])
end
return length
