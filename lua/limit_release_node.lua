-- limit_release_node.lua: free every slot a node holds in one concurrency limit (the node died
-- and is being recovered, or it is leaving).
-- KEYS[1]  `verk:limit:concurrency:<limit>`  hash: holder → its node
-- ARGV[1]  the node
-- Returns: how many slots were freed.
local entries = redis.call('HGETALL', KEYS[1])
local freed = 0
for i = 1, #entries, 2 do
  if entries[i + 1] == ARGV[1] then
    redis.call('HDEL', KEYS[1], entries[i])
    freed = freed + 1
  end
end
return freed
