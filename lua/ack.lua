-- ack.lua: remove finished jobs from a node's in-progress entries, by their tokens.
-- KEYS[1]   `inprogress:<name>:<node>`  hash: token → payload
-- ARGV[1..] the tokens the jobs were fetched under
-- Returns: how many were removed.
local removed = 0
-- HDEL in chunks: unpack() of thousands of values overflows Lua's stack.
local chunk = 1000
for first = 1, #ARGV, chunk do
  removed = removed + redis.call('HDEL', KEYS[1], unpack(ARGV, first, math.min(first + chunk - 1, #ARGV)))
end
return removed
