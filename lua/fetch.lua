-- fetch.lua: move up to N of the oldest jobs of a queue into a node's in-progress entries, each
-- under a token (the caller's first token, then the next numbers), so that the job's outcome is
-- written by its token, whatever the payload's size. A fetch that finds its first token taken ran
-- already (a command resent after a lost reply): it takes nothing.
-- A suspect, a job that came back from dead nodes at least ARGV[6] times (counted in
-- `verk:recovered`), may be the poison pill that killed them, so it runs alone on a node: it is
-- taken only as a batch of one by a node that asks for isolation (it is idle), and otherwise it
-- ends the batch and stays first in the queue. A job recovered fewer times is taken as any other.
-- A paused queue gives nothing: a fetch that runs after the pause was written takes no job, whether
-- or not its node has heard of the pause yet.
-- KEYS[1]  `queue:<name>`                 the queue (jobs are taken from the right: oldest first)
-- KEYS[2]  `inprogress:<name>:<node>`     hash: token → payload, the node's in-progress entries
-- KEYS[3]  `verk:recovered`               hash: raw payload → times it came back from a dead node
-- KEYS[4]  `verk:paused`                  set of the paused queues; in the cluster key scheme
--                                         `verk:paused:{<name>}`, which holds the queue's name while paused
-- KEYS[5]  `verk_nodes`                   nodes that may hold in-progress jobs; in the cluster key
--                                         scheme `verk:nodes:{<name>}`, those of this queue
-- KEYS[6]  `verk:node:<node>:queues`      (optional) queues where the node holds in-progress jobs;
--                                         the cluster key scheme has no such key
-- ARGV[1]  N, how many jobs to take; N < 1 takes nothing
-- ARGV[2]  the queue's name
-- ARGV[3]  the node id
-- ARGV[4]  '1' if the node is idle and may take a recovered job alone, else '0'
-- ARGV[5]  the first token: an integer; the k-th job taken gets ARGV[5] + k - 1 (the caller keeps
--          N numbers from ARGV[5] for this fetch, and never gives them out again)
-- ARGV[6]  recoveries from which a job is a suspect (≥ 1)
-- ARGV[7]  (optional) take the jobs whole: the key of a new list `verk:batch:<name>:<node>:<first>`
--          to move them into, so that their payloads never pass through Lua (Lua copies every
--          byte: large payloads cost more here than anywhere else). Each job still gets its token
--          in the in-progress hash, with an empty value: its payload is in the list, newest first
--          (the token ARGV[5] + k - 1 at index N - k). The caller reads the list (LRANGE) after
--          this call. Only while no job of the queue is a recovered one (KEYS[3] is empty): a
--          recovered job is looked at by its payload, so then jobs are taken the usual way.
-- ARGV[8]  (with ARGV[7]) `verk:batches:<name>:<node>`  hash: batch list → jobs of it still in
--          progress (ack.lua, retry.lua and kill.lua count down; the last one deletes the list)
-- Returns: { jobs taken oldest first (the k-th under token ARGV[5] + k - 1), 1 if the one job
--            taken is a recovered one, 1 if a recovered job waits at the head of the queue for an
--            idle node, 1 if the queue is paused (nothing taken), how many jobs were taken whole
--            into ARGV[7] (then the first element is empty) }.
if redis.call('SISMEMBER', KEYS[4], ARGV[2]) == 1 then
  return { {}, 0, 0, 1, 0 }
end
local count = tonumber(ARGV[1])
if count == nil or count < 1 or redis.call('HEXISTS', KEYS[2], ARGV[5]) == 1 then
  return { {}, 0, 0, 0, 0 }
end
local function registerNode()
  redis.call('SADD', KEYS[5], ARGV[3])
  if KEYS[6] then
    redis.call('SADD', KEYS[6], ARGV[2])
  end
end
local whole = ARGV[7]
if whole ~= nil and whole ~= '' and redis.call('EXISTS', KEYS[3]) == 0 then
  local length = redis.call('LLEN', KEYS[1])
  local taken = math.min(count, length)
  if taken == 0 then
    return { {}, 0, 0, 0, 0 }
  end
  -- The oldest `taken` jobs are the list's right end; SORT BY nosort copies them as they are.
  redis.call('SORT', KEYS[1], 'BY', 'nosort', 'LIMIT', length - taken, taken, 'STORE', whole)
  if taken == length then
    redis.call('DEL', KEYS[1])
  else
    redis.call('LTRIM', KEYS[1], 0, length - taken - 1)
  end
  local first = tonumber(ARGV[5])
  for k = 1, taken do
    redis.call('HSET', KEYS[2], string.format('%.0f', first + k - 1), '')
  end
  redis.call('HSET', ARGV[8], whole, taken)
  registerNode()
  return { {}, 0, 0, 0, taken }
end
local jobs = redis.call('RPOP', KEYS[1], count)
if not jobs then
  return { {}, 0, 0, 0, 0 }
end
local isolated, blocked = 0, 0
local suspectFrom = tonumber(ARGV[6])
if redis.call('EXISTS', KEYS[3]) == 1 then
  for i = 1, #jobs do
    local recoveries = tonumber(redis.call('HGET', KEYS[3], jobs[i]) or '0')
    if recoveries >= suspectFrom then
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
  return { {}, 0, blocked, 0, 0 }
end
local first = tonumber(ARGV[5])
for k = 1, #jobs do
  redis.call('HSET', KEYS[2], string.format('%.0f', first + k - 1), jobs[k])
end
registerNode()
return { jobs, isolated, blocked, 0, 0 }
