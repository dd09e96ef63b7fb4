-- unique_push.lua: take a unique job's lock and write the job, in one step; or, the lock being
-- held, write nothing and name its holder; or (debounce) replace the holder while it waits in
-- `schedule`. A resend of the same call finds the lock held by its own jid and writes nothing more.
-- KEYS[1]   `verk:unique:<queue>:<digest>`          the lock: the holder's jid, expiring (PX)
-- KEYS[2]   `verk:unique:<queue>:<digest>:waiting`  debounce: the holder's payload in `schedule`
-- KEYS[3]   `queue:<name>`, or `schedule` when ARGV[4] is not ''  (cluster scheme: all three in
--           the queue's slot: `{<queue>}`)
-- KEYS[4]   `queues` (optional)  the queue registry, written on a push to a queue (Sidekiq scheme)
-- ARGV[1]   the job's jid
-- ARGV[2]   the lock's time to live, milliseconds
-- ARGV[3]   the job's payload
-- ARGV[4]   epoch seconds when it waits in `schedule`; '' pushes it to its queue
-- ARGV[5]   '1' to debounce (replace a waiting holder), '0' otherwise
-- ARGV[6]   the queue's name
-- ARGV[7]   the notification channel; '' publishes nothing (the cluster scheme's caller does)
-- Returns: {1, jid} written (this call holds the lock), {0, holder} a duplicate (nothing
-- written), {2, holder} the waiting holder replaced by ARGV[3] with the holder's jid.
local jid = ARGV[1]
local holder = redis.call('GET', KEYS[1])
local scheduled = ARGV[4] ~= ''
local function publish(message)
  if ARGV[7] ~= '' then
    redis.call('PUBLISH', ARGV[7], message)
  end
end
if holder == jid then
  return {1, jid}
end
if holder then
  if ARGV[5] ~= '1' then
    return {0, holder}
  end
  local waiting = redis.call('GET', KEYS[2])
  if waiting and scheduled and redis.call('ZREM', KEYS[3], waiting) == 1 then
    -- The new payload with the holder's jid (JSON.stringify writes `"jid":"..."` unspaced).
    local from = '"jid":' .. cjson.encode(jid)
    local first, last = string.find(ARGV[3], from, 1, true)
    local payload = ARGV[3]
    if first then
      payload = string.sub(payload, 1, first - 1) .. '"jid":' .. cjson.encode(holder) .. string.sub(payload, last + 1)
    end
    redis.call('ZADD', KEYS[3], ARGV[4], payload)
    redis.call('SET', KEYS[2], payload, 'PX', ARGV[2])
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    publish('scheduled')
    return {2, holder}
  end
  -- The holder has left `schedule` (it runs): this job takes the lock.
end
redis.call('SET', KEYS[1], jid, 'PX', ARGV[2])
if scheduled then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
  if ARGV[5] == '1' then
    redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
  end
  publish('scheduled')
else
  if KEYS[4] then
    redis.call('SADD', KEYS[4], ARGV[6])
  end
  redis.call('LPUSH', KEYS[3], ARGV[3])
  publish('work:' .. ARGV[6])
end
return {1, jid}
