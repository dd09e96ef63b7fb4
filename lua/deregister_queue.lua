-- deregister_queue.lua: the cluster key scheme's part of forgetting a node, one queue at a time
-- (in that queue's slot): the node leaves the queue's registry only if it holds no in-progress job
-- there, so that such jobs are recovered later rather than forgotten.
-- KEYS[1]  `inprogress:{<name>}:<node>`
-- KEYS[2]  `verk:nodes:{<name>}`  nodes that may hold in-progress jobs of the queue
-- ARGV[1]  the node id
-- Returns: 1 if the node left the queue's registry, 0 if it holds jobs there and stays.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('SREM', KEYS[2], ARGV[1])
return 1
