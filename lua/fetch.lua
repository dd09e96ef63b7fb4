-- fetch.lua: move up to N of the oldest jobs of a queue into a node's in-progress list.
-- A job that came back from a dead node (listed in `verk:recovered`) may be the poison pill that
-- killed it, so it runs alone on a node: it is taken only as a batch of one by a node that asks
-- for isolation (it is idle), and otherwise it ends the batch and stays first in the queue.
-- KEYS[1]  `queue:<name>`                 the queue (jobs are taken from the right: oldest first)
-- KEYS[2]  `inprogress:<name>:<node>`     the node's in-progress list for that queue
-- KEYS[3]  `verk:recovered`               hash: raw payload → times it came back from a dead node
-- KEYS[4]  `verk_nodes`                   nodes that may hold in-progress jobs; in the cluster key
--                                         scheme `verk:nodes:{<name>}`, those of this queue
-- KEYS[5]  `verk:node:<node>:queues`      (optional) queues where the node holds in-progress jobs;
--                                         the cluster key scheme has no such key
-- ARGV[1]  N, how many jobs to take; N < 1 takes nothing
-- ARGV[2]  the queue's name
-- ARGV[3]  the node id
-- ARGV[4]  '1' if the node is idle and may take a recovered job alone, else '0'
-- Returns: { jobs taken oldest first, 1 if the one job taken is a recovered one, 1 if a recovered
--            job waits at the head of the queue for an idle node }.
local count = tonumber(ARGV[1])
if count == nil or count < 1 then
  return { {}, 0, 0 }
end
local jobs = redis.call('RPOP', KEYS[1], count)
if not jobs then
  return { {}, 0, 0 }
end
local isolated, blocked = 0, 0
if redis.call('EXISTS', KEYS[3]) == 1 then
  for i = 1, #jobs do
    if redis.call('HEXISTS', KEYS[3], jobs[i]) == 1 then
      local keep = i - 1
      if i == 1 and ARGV[4] == '1' then
        keep = 1
        isolated = 1
      else
        blocked = 1
      end
      -- Put the rest back where they were: the last pushed (the suspect, or the job after it) runs next.
      for j = #jobs, keep + 1, -1 do
        redis.call('RPUSH', KEYS[1], jobs[j])
      end
      jobs = { unpack(jobs, 1, keep) }
      break
    end
  end
end
if #jobs == 0 then
  return { {}, 0, blocked }
end
-- LPUSH in chunks: unpack() of thousands of values overflows Lua's stack.
local chunk = 1000
for first = 1, #jobs, chunk do
  redis.call('LPUSH', KEYS[2], unpack(jobs, first, math.min(first + chunk - 1, #jobs)))
end
redis.call('SADD', KEYS[4], ARGV[3])
if KEYS[5] then
  redis.call('SADD', KEYS[5], ARGV[2])
end
return { jobs, isolated, blocked }
