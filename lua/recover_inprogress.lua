-- recover_inprogress.lua: put one batch of a dead node's in-progress jobs back at the front of
-- their queue, counting how often each came back from a dead node. A job over the limit is a
-- poison pill: it stays in the dead node's list (moved to its right end) and is returned, for the
-- caller to move to dead with its reason in one atomic step (kill.lua). Each batch is atomic, so
-- nodes recovering the same dead node at once duplicate nothing.
-- KEYS[1]  `inprogress:<name>:<node>`  of the dead node (newest taken at the left)
-- KEYS[2]  `queue:<name>`
-- KEYS[3]  `verk:recovered`  hash: raw payload → times recovered (fetch.lua runs these alone)
-- ARGV[1]  batch size (≥ 1)
-- ARGV[2]  the queue's name
-- ARGV[3]  the notification channel; 'work:<name>' is published when jobs were requeued; ''
--          publishes nothing (the cluster key scheme's caller publishes on its sharded channel)
-- ARGV[4]  most recoveries a job may have; one more makes it a poison pill
-- ARGV[5]  seconds to keep recovery counts (refreshed on each recovery)
-- Returns: { jobs taken from the list, array of poison pills left at the list's right end }.
local jobs = redis.call('LPOP', KEYS[1], tonumber(ARGV[1]))
if not jobs then
  return { 0, {} }
end
local limit = tonumber(ARGV[4])
local requeue, poisoned = {}, {}
for _, raw in ipairs(jobs) do
  if redis.call('HINCRBY', KEYS[3], raw, 1) > limit then
    poisoned[#poisoned + 1] = raw
  else
    requeue[#requeue + 1] = raw
  end
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5]))
if #requeue > 0 then
  -- Newest first onto the right end leaves the oldest rightmost: it is fetched first.
  redis.call('RPUSH', KEYS[2], unpack(requeue))
  if ARGV[3] ~= '' then
    redis.call('PUBLISH', ARGV[3], 'work:' .. ARGV[2])
  end
end
if #poisoned > 0 then
  redis.call('RPUSH', KEYS[1], unpack(poisoned))
end
return { #jobs, poisoned }
