-- unique_release.lua: free a unique job's lock, only if this job still holds it (a lock that
-- lapsed and was taken by another job stays with that job).
-- KEYS[1]   `verk:unique:<queue>:<digest>`          the lock: the holder's jid
-- KEYS[2]   `verk:unique:<queue>:<digest>:waiting`  debounce: the holder's payload
-- ARGV[1]   the job's jid
-- Returns: 1 when the lock was freed, 0 when this job did not hold it.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
