-- deregister_node.lua: forget a node that is gone (after its jobs were recovered, or at a clean
-- shutdown), in Verk's registry and in Sidekiq's process registry. A queue where the node still
-- holds in-progress jobs (it fetched again after being taken for dead) keeps it registered, so
-- that those jobs are recovered later rather than forgotten; so does a queue nobody looked at
-- (registered after the caller read the node's queues), and so does the caller's word that the
-- node holds jobs elsewhere (the cluster key scheme registers nodes per queue, in other slots;
-- deregister_queue.lua looks there first).
-- KEYS[1]        `verk_nodes`
-- KEYS[2]        `verk:node:<node>`
-- KEYS[3]        `verk:node:<node>:queues`
-- KEYS[4]        `processes`
-- KEYS[5]        `<node>`        Sidekiq's process hash
-- KEYS[6]        `<node>:work`
-- KEYS[7]        `<node>:workers`  (Sidekiq 6's name for it)
-- KEYS[8..7+N]   the node's in-progress entries to look at here, N = ARGV[2] (Sidekiq's key scheme;
--                the cluster scheme's entries live in other slots and pass none)
-- ARGV[1]        the node id
-- ARGV[2]        N
-- ARGV[3..2+N]   the queue names of KEYS[8..7+N]
-- ARGV[3+N]      '1' if the node holds in-progress jobs the script cannot see, else '0'
-- Returns: 1 if the node was forgotten, 0 if it keeps in-progress jobs and stays registered.
local checked = {}
local count = tonumber(ARGV[2])
for i = 1, count do
  local queue = ARGV[2 + i]
  if redis.call('EXISTS', KEYS[7 + i]) == 0 then
    checked[queue] = true
  end
end
local keep = ARGV[3 + count] == '1'
for _, queue in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if checked[queue] then
    redis.call('SREM', KEYS[3], queue)
  else
    keep = true
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
