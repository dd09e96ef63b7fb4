-- limit_acquire.lua: take a slot of a concurrency limit for one run, if one is free.
-- KEYS[1]  `verk:limit:concurrency:<limit>`  hash: holder → its node
-- ARGV[1]  the limit (holders at most)
-- ARGV[2]  the holder (`<node>:<queue>:<token>`, one run)
-- ARGV[3]  the holder's node (what its recovery frees, see limit_release_node.lua)
-- Returns: 1 when the holder holds a slot (it may have held it already), 0 when all are taken.
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then
  return 1
end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
