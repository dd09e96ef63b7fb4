-- deregister_node.lua: forget a node that is gone (after its jobs were recovered, or at a clean
-- shutdown), in Verk's registry and in Sidekiq's process registry. A queue where the node still
-- holds in-progress jobs (it fetched again after being taken for dead) keeps it registered, so
-- that those jobs are recovered later rather than forgotten.
-- KEYS[1]  `verk_nodes`
-- KEYS[2]  `verk:node:<node>`
-- KEYS[3]  `verk:node:<node>:queues`
-- KEYS[4]  `processes`
-- KEYS[5]  `<node>`        Sidekiq's process hash
-- KEYS[6]  `<node>:work`
-- KEYS[7]  `<node>:workers`  (Sidekiq 6's name for it)
-- ARGV[1]  the node id
-- ARGV[2]  the key prefix (namespace), '' for none; in-progress keys are built as
--          <prefix>inprogress:<queue>:<node>
-- Returns: 1 if the node was forgotten, 0 if it keeps in-progress jobs and stays registered.
local keep = false
for _, queue in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if redis.call('LLEN', ARGV[2] .. 'inprogress:' .. queue .. ':' .. ARGV[1]) > 0 then
    keep = true
  else
    redis.call('SREM', KEYS[3], queue)
  end
end
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[5], KEYS[6], KEYS[7])
if keep then
  return 0
end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
return 1
