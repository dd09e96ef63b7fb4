-- limit_rate.lua: one start of a rate limit, by a sliding window log: admitted (and recorded)
-- when fewer than the limit's starts lie in the last window, else how long until the oldest
-- leaves it. The time is Redis's own (TIME), so every node shares one clock.
-- KEYS[1]  `verk:limit:rate:<limit>`  sorted set: start member → its time (epoch milliseconds)
-- ARGV[1]  the limit (starts per window)
-- ARGV[2]  the window, milliseconds
-- ARGV[3]  the start's member (unique per start)
-- Returns: {1, 0} when admitted; {0, wait} when over, wait in milliseconds.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local limit = tonumber(ARGV[1])
local per = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - per)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], per)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + per - now
if wait < 0 then wait = 0 end
return {0, wait}
