-- retry.lua: schedule a failed job's retry and take it out of in-progress, atomically,
-- so that the outcome is written before (and with) the ack.
-- KEYS[1]  `inprogress:<name>:<node>`  hash: token → payload
-- KEYS[2]  `retry`  sorted set (or `schedule`: a snooze, see StoreLimits.ts, reuses this script)
-- ARGV[1]  the job's token (its entry is removed from in-progress)
-- ARGV[2]  the payload to retry (with retry_count and error fields)
-- ARGV[3]  when to retry, epoch seconds (the score)
-- ARGV[4]  the notification channel; 'scheduled' is published so schedulers look again; ''
--          publishes nothing (the cluster key scheme's caller publishes on its sharded channel)
-- Returns: 1.
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[4] ~= '' then
  redis.call('PUBLISH', ARGV[4], 'scheduled')
end
return 1
