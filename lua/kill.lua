-- kill.lua: move a job to the dead set, trim the dead set, and take the job out of
-- in-progress, atomically, so that the outcome is written before (and with) the ack.
-- KEYS[1]  `inprogress:<name>:<node>`  hash: token → payload
-- KEYS[2]  `dead`  sorted set
-- KEYS[3]  `verk:batches:<name>:<node>`  hash: batch list → jobs of it still in progress
-- ARGV[1]  the job's token (its entry is removed from in-progress)
-- ARGV[2]  the payload to keep in dead
-- ARGV[3]  when it died, epoch seconds (the score)
-- ARGV[4]  the most dead jobs to keep (the newest stay)
-- ARGV[5]  the age cutoff, epoch seconds: dead jobs scored at or before it are dropped
-- ARGV[6]  the batch list the job was taken whole into (fetch.lua), or ''
-- Returns: 1.
-- #include settle.lua
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[4]) + 1))
settle(KEYS[1], KEYS[3], ARGV[1], ARGV[6])
return 1
