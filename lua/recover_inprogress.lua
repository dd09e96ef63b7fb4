-- recover_inprogress.lua: put one batch of a dead node's in-progress jobs back at the front of
-- their queue, counting how often each came back from a dead node. A job over the limit is a
-- poison pill: it stays in the dead node's entries and is returned with its token, for the caller
-- to move to dead with its reason in one atomic step (kill.lua). Each batch is atomic, so nodes
-- recovering the same dead node at once duplicate nothing.
-- KEYS[1]  `inprogress:<name>:<node>`  of the dead node: hash, token → payload
-- KEYS[2]  `queue:<name>`
-- KEYS[3]  `verk:recovered`  hash: raw payload → times recovered (fetch.lua runs these alone)
-- KEYS[4]  `verk:batches:<name>:<node>`  of the dead node: batch list → jobs of it still in progress
-- ARGV[1]  batch size (≥ 1)
-- ARGV[2]  the queue's name
-- ARGV[3]  the notification channel; 'work:<name>' is published when jobs were requeued; ''
--          publishes nothing (the cluster key scheme's caller publishes on its sharded channel)
-- ARGV[4]  most recoveries a job may have; one more makes it a poison pill
-- ARGV[5]  seconds to keep recovery counts (refreshed on each recovery)
-- Returns: { jobs taken from the entries, the poison pills as token, payload, token, payload... }.
-- #include newest_first.lua
-- The newest batch, newest first: pushed onto the queue's right end in this order, the oldest of
-- the batch runs first, and an older batch (the next call) runs before it.
local entries = newestFirst(KEYS[1], KEYS[4])
local batch = math.min(tonumber(ARGV[1]), #entries)
if batch == 0 then
  return { 0, {} }
end
local limit = tonumber(ARGV[4])
local requeued, poisoned = 0, {}
for i = 1, batch do
  local token, raw = entries[i][2], entries[i][3]
  if redis.call('HINCRBY', KEYS[3], raw, 1) > limit then
    poisoned[#poisoned + 1] = token
    poisoned[#poisoned + 1] = raw
  else
    redis.call('HDEL', KEYS[1], token)
    redis.call('RPUSH', KEYS[2], raw)
    requeued = requeued + 1
  end
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5]))
if requeued > 0 and ARGV[3] ~= '' then
  redis.call('PUBLISH', ARGV[3], 'work:' .. ARGV[2])
end
return { batch, poisoned }
