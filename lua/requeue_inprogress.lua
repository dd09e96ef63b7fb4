-- requeue_inprogress.lua: move one batch of a node's in-progress jobs back to their queue,
-- to the right end so that they run next, in the order they were first taken.
-- Each batch is atomic, so nodes recovering the same dead node at once duplicate nothing.
-- KEYS[1]  `inprogress:<name>:<node>`  (newest taken at the left)
-- KEYS[2]  `queue:<name>`
-- ARGV[1]  batch size (≥ 1)
-- ARGV[2]  the queue's name
-- ARGV[3]  the notification channel; 'work:<name>' is published when jobs moved; '' publishes
--          nothing (the cluster key scheme's caller publishes on its sharded channel)
-- Returns: how many jobs moved; 0 when the in-progress list is empty.
local jobs = redis.call('LPOP', KEYS[1], tonumber(ARGV[1]))
if not jobs then
  return 0
end
-- Newest first onto the right end leaves the oldest rightmost: it is fetched first.
redis.call('RPUSH', KEYS[2], unpack(jobs))
if ARGV[3] ~= '' then
  redis.call('PUBLISH', ARGV[3], 'work:' .. ARGV[2])
end
return #jobs
