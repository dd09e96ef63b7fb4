-- periodic_declare.lua: a node declares its periodic entries (for listings: `verk periodic list`),
-- and entries that no node declared for a while leave the registry.
-- KEYS[1]   `verk:periodic`          hash: entry name → its record (JSON: queue, description)
-- KEYS[2]   `verk:periodic-seen`     sorted set: entry name, scored by its last declaration (ms)
-- ARGV[1]   now, epoch milliseconds
-- ARGV[2]   records declared before this (epoch milliseconds) are forgotten
-- ARGV[3..] pairs: an entry's name, its record
-- Returns: how many records were forgotten.
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[i])
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])
for _, name in ipairs(stale) do
  redis.call('HDEL', KEYS[1], name)
  redis.call('ZREM', KEYS[2], name)
end
return #stale
