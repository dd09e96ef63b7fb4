-- retry.lua: schedule a failed job's retry and take it out of in-progress, atomically,
-- so that the outcome is written before (and with) the ack.
-- KEYS[1]  `inprogress:<name>:<node>`  hash: token → payload
-- KEYS[2]  `retry`  sorted set (or `schedule`: a snooze, see OutcomeWrite.ts, reuses this script)
-- KEYS[3]  `verk:batches:<name>:<node>`  hash: batch list → jobs of it still in progress
-- ARGV[1]  the job's token (its entry is removed from in-progress)
-- ARGV[2]  the payload to retry (with retry_count and error fields)
-- ARGV[3]  when to retry, epoch seconds (the score)
-- ARGV[4]  the notification channel; 'scheduled' is published so schedulers look again; ''
--          publishes nothing (the cluster key scheme's caller publishes on its sharded channel)
-- ARGV[5]  the batch list the job was taken whole into (fetch.lua), or ''
-- Returns: 1.
-- #include settle.lua
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
settle(KEYS[1], KEYS[3], ARGV[1], ARGV[5])
if ARGV[4] ~= '' then
  redis.call('PUBLISH', ARGV[4], 'scheduled')
end
return 1
