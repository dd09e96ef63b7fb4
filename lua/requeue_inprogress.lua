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
-- A list here was left by a node of an earlier version (in-progress lists of payloads): it
-- becomes entries first, the oldest (rightmost) under the lowest token.
if redis.call('TYPE', KEYS[1]).ok == 'list' then
  local old = redis.call('LRANGE', KEYS[1], 0, -1)
  redis.call('DEL', KEYS[1])
  for i = 1, #old do
    redis.call('HSET', KEYS[1], string.format('%.0f', -i), old[i])
  end
end
-- #include materialize.lua
materialize(KEYS[1], KEYS[3])
-- The newest batch, newest first: pushed onto the queue's right end in this order, the oldest of
-- the batch runs first, and an older batch (the next call) runs before it.
local flat = redis.call('HGETALL', KEYS[1])
local entries = {}
for i = 1, #flat, 2 do
  entries[#entries + 1] = { tonumber(flat[i]), flat[i], flat[i + 1] }
end
table.sort(entries, function(a, b) return a[1] > b[1] end)
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
