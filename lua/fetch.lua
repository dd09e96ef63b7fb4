-- fetch.lua: move up to N of the oldest jobs of a queue into a node's in-progress list.
-- KEYS[1]  `queue:<name>`                 the queue (jobs are taken from the right: oldest first)
-- KEYS[2]  `inprogress:<name>:<node>`     the node's in-progress list for that queue
-- KEYS[3]  `verk:node:<node>:queues`      queues where the node holds in-progress jobs
-- KEYS[4]  `verk_nodes`                   nodes that may hold in-progress jobs
-- ARGV[1]  N, how many jobs to take; N < 1 takes nothing
-- ARGV[2]  the queue's name
-- ARGV[3]  the node id
-- Returns: the jobs taken, oldest first (an empty array when there are none).
local count = tonumber(ARGV[1])
if count == nil or count < 1 then
  return {}
end
local jobs = redis.call('RPOP', KEYS[1], count)
if not jobs then
  return {}
end
-- LPUSH in chunks: unpack() of thousands of values overflows Lua's stack.
local chunk = 1000
for first = 1, #jobs, chunk do
  redis.call('LPUSH', KEYS[2], unpack(jobs, first, math.min(first + chunk - 1, #jobs)))
end
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[3])
return jobs
