-- recover_inprogress.lua: put one batch of a dead node's in-progress jobs back at the front of
-- their queue, counting how often each job came back from a dead node. A job that came back
-- more than the limit (a poison pill that kills every node running it) goes to dead instead,
-- byte for byte; the caller annotates it. Each batch is atomic, so nodes recovering the same
-- dead node at once duplicate nothing.
-- KEYS[1]  `inprogress:<name>:<node>`  of the dead node (newest taken at the left)
-- KEYS[2]  `queue:<name>`
-- KEYS[3]  `verk:recovered`  hash jid → times recovered
-- KEYS[4]  `dead`
-- ARGV[1]  batch size (≥ 1)
-- ARGV[2]  the queue's name
-- ARGV[3]  the notification channel; 'work:<name>' is published when jobs were requeued
-- ARGV[4]  most recoveries a job may have; one more sends it to dead
-- ARGV[5]  now, epoch seconds (dead score)
-- ARGV[6]  seconds to keep recovery counts (refreshed on each recovery)
-- Returns: { jobs taken from in-progress, array of payloads sent to dead }.
local jobs = redis.call('LPOP', KEYS[1], tonumber(ARGV[1]))
if not jobs then
  return { 0, {} }
end
local limit = tonumber(ARGV[4])
local requeue, poisoned = {}, {}
for _, raw in ipairs(jobs) do
  local ok, job = pcall(cjson.decode, raw)
  local jid = ok and type(job) == 'table' and job.jid
  local count = 0
  if type(jid) == 'string' or type(jid) == 'number' then
    count = redis.call('HINCRBY', KEYS[3], tostring(jid), 1)
  end
  if count > limit then
    redis.call('ZADD', KEYS[4], ARGV[5], raw)
    redis.call('HDEL', KEYS[3], tostring(jid))
    poisoned[#poisoned + 1] = raw
  else
    requeue[#requeue + 1] = raw
  end
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[6]))
if #requeue > 0 then
  -- Newest first onto the right end leaves the oldest rightmost: it is fetched first.
  redis.call('RPUSH', KEYS[2], unpack(requeue))
  redis.call('PUBLISH', ARGV[3], 'work:' .. ARGV[2])
end
return { #jobs, poisoned }
