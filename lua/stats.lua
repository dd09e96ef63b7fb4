-- stats.lua: add a batch of outcomes to Sidekiq's counters in one round trip, once per token
-- (a call ioredis sends again after a lost reply must not count twice).
-- KEYS[1]  `stat:processed`
-- KEYS[2]  `stat:processed:<YYYY-MM-DD>` (UTC)
-- KEYS[3]  `stat:failed`
-- KEYS[4]  `stat:failed:<YYYY-MM-DD>` (UTC)
-- KEYS[5]  `verk:call:<token>`  the call's token, remembered for ARGV[3] seconds
-- ARGV[1]  jobs processed in the batch
-- ARGV[2]  jobs failed in the batch
-- ARGV[3]  how long the token is remembered, seconds
-- Returns: 1, or 0 when the token was used already (nothing counted).
if not redis.call('SET', KEYS[5], '1', 'NX', 'EX', ARGV[3]) then
  return 0
end
local processed, failed = tonumber(ARGV[1]), tonumber(ARGV[2])
if processed > 0 then
  redis.call('INCRBY', KEYS[1], processed)
  redis.call('INCRBY', KEYS[2], processed)
end
if failed > 0 then
  redis.call('INCRBY', KEYS[3], failed)
  redis.call('INCRBY', KEYS[4], failed)
end
return 1
