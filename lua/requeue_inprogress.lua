-- requeue_inprogress.lua: move one batch of a node's in-progress jobs back to their queue,
-- to the right end so that they run next, in the order they were first taken (by token).
-- Each batch is atomic, so nodes recovering the same dead node at once duplicate nothing.
-- KEYS[1]  `inprogress:<name>:<node>`  hash: token → payload (a larger token was fetched later)
-- KEYS[2]  `queue:<name>`
-- KEYS[3]  `verk:batches:<name>:<node>`  hash: batch list → jobs of it still in progress
-- ARGV[1]  batch size (≥ 1)
-- ARGV[2]  the queue's name
-- ARGV[3]  the notification channel; 'work:<name>' is published when jobs moved; '' publishes
--          nothing (the cluster key scheme's caller publishes on its sharded channel)
-- Returns: how many jobs moved; 0 when there are no in-progress entries.
-- #include newest_first.lua
-- The newest batch, newest first: pushed onto the queue's right end in this order, the oldest of
-- the batch runs first, and an older batch (the next call) runs before it.
local entries = newestFirst(KEYS[1], KEYS[3])
local batch = math.min(tonumber(ARGV[1]), #entries)
if batch == 0 then
  return 0
end
for i = 1, batch do
  redis.call('HDEL', KEYS[1], entries[i][2])
  redis.call('RPUSH', KEYS[2], entries[i][3])
end
if ARGV[3] ~= '' then
  redis.call('PUBLISH', ARGV[3], 'work:' .. ARGV[2])
end
return batch
