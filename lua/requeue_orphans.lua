-- requeue_orphans.lua: put back jobs that sit in this node's in-progress entries but that the node
-- is not running (a fetch whose reply was lost): each moves to the front of its queue only if it
-- is still there, so a job acked meanwhile is not run again.
-- KEYS[1]   `inprogress:<name>:<node>`  hash: token → payload
-- KEYS[2]   `queue:<name>`
-- KEYS[3]   `verk:batches:<name>:<node>`  hash: batch list → jobs of it still in progress
-- ARGV[1]   the queue's name
-- ARGV[2]   the notification channel; 'work:<name>' is published when jobs moved; '' publishes
--           nothing (the cluster key scheme's caller publishes on its sharded channel)
-- ARGV[3..] the tokens of the jobs to move
-- Returns: how many jobs moved.
-- #include materialize.lua
materialize(KEYS[1], KEYS[3])
local moved = 0
for i = 3, #ARGV do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('RPUSH', KEYS[2], raw)
    moved = moved + 1
  end
end
if moved > 0 and ARGV[2] ~= '' then
  redis.call('PUBLISH', ARGV[2], 'work:' .. ARGV[1])
end
return moved
