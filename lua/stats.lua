-- stats.lua: add a batch of outcomes to Sidekiq's counters in one round trip.
-- KEYS[1]  `stat:processed`
-- KEYS[2]  `stat:processed:<YYYY-MM-DD>` (UTC)
-- KEYS[3]  `stat:failed`
-- KEYS[4]  `stat:failed:<YYYY-MM-DD>` (UTC)
-- ARGV[1]  jobs processed in the batch
-- ARGV[2]  jobs failed in the batch
-- Returns: 1.
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
