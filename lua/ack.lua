-- ack.lua: remove finished jobs from a node's in-progress list, one occurrence each.
-- KEYS[1]   `inprogress:<name>:<node>`
-- ARGV[1..] the raw payloads, exactly as fetched
-- Returns: how many were removed.
local removed = 0
for i = 1, #ARGV do
  removed = removed + redis.call('LREM', KEYS[1], 1, ARGV[i])
end
return removed
