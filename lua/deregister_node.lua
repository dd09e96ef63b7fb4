-- deregister_node.lua: forget a node that is gone (after its jobs were recovered, or at a clean
-- shutdown), in Verk's registry and in Sidekiq's process registry.
-- KEYS[1]  `verk_nodes`
-- KEYS[2]  `verk:node:<node>`
-- KEYS[3]  `verk:node:<node>:queues`
-- KEYS[4]  `processes`
-- KEYS[5]  `<node>`        Sidekiq's process hash
-- KEYS[6]  `<node>:work`
-- ARGV[1]  the node id
-- Returns: 1 if the node was registered, else 0.
local removed = redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[5], KEYS[6])
return removed
