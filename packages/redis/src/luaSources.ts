// Generated from lua/*.lua by `npm run build:lua` (packages/redis/build/embedLua.ts). Do not edit:
// change the .lua file and run `npm run build:lua` again.

/** `lua/ack.lua` */
export const ack = `-- ack.lua: remove finished jobs from a node's in-progress entries, by their tokens.
-- KEYS[1]   \`inprogress:<name>:<node>\`  hash: token → payload
-- KEYS[2]   \`verk:batches:<name>:<node>\`  hash: batch list → jobs of it still in progress
-- ARGV[1..] pairs: a job's token, then the batch list it was taken whole into (fetch.lua), or ''
-- Returns: how many were removed.
-- settle.lua (included by ack.lua, retry.lua and kill.lua, see packages/redis/build/embedLua.ts):
-- Takes \`token\` out of the in-progress entries; when it was taken whole (fetch.lua) with \`batch\`,
-- counts the batch down and deletes its list with its last job.
local function settle(inProgress, batches, token, batch)
  local removed = redis.call('HDEL', inProgress, token)
  if removed == 1 and batch ~= '' and redis.call('HEXISTS', batches, batch) == 1 then
    if redis.call('HINCRBY', batches, batch, -1) <= 0 then
      redis.call('DEL', batch)
      redis.call('HDEL', batches, batch)
    end
  end
  return removed
end
local removed = 0
for i = 1, #ARGV - 1, 2 do
  removed = removed + settle(KEYS[1], KEYS[2], ARGV[i], ARGV[i + 1])
end
return removed
`

/** `lua/deregister_node.lua` */
export const deregisterNode = `-- deregister_node.lua: forget a node that is gone (after its jobs were recovered, or at a clean
-- shutdown), in Verk's registry and in Sidekiq's process registry. A queue where the node still
-- holds in-progress jobs (it fetched again after being taken for dead) keeps it registered, so
-- that those jobs are recovered later rather than forgotten; so does a queue nobody looked at
-- (registered after the caller read the node's queues), and so does the caller's word that the
-- node holds jobs elsewhere (the cluster key scheme registers nodes per queue, in other slots;
-- deregister_queue.lua looks there first).
-- KEYS[1]        \`verk_nodes\`
-- KEYS[2]        \`verk:node:<node>\`
-- KEYS[3]        \`verk:node:<node>:queues\`
-- KEYS[4]        \`processes\`
-- KEYS[5]        \`<node>\`        Sidekiq's process hash
-- KEYS[6]        \`<node>:work\`
-- KEYS[7]        \`<node>:workers\`  (Sidekiq 6's name for it)
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
`

/** `lua/deregister_queue.lua` */
export const deregisterQueue = `-- deregister_queue.lua: the cluster key scheme's part of forgetting a node, one queue at a time
-- (in that queue's slot): the node leaves the queue's registry only if it holds no in-progress job
-- there, so that such jobs are recovered later rather than forgotten.
-- KEYS[1]  \`inprogress:{<name>}:<node>\`
-- KEYS[2]  \`verk:nodes:{<name>}\`  nodes that may hold in-progress jobs of the queue
-- ARGV[1]  the node id
-- Returns: 1 if the node left the queue's registry, 0 if it holds jobs there and stays.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('SREM', KEYS[2], ARGV[1])
return 1
`

/** `lua/enqueue.lua` */
export const enqueue = `-- enqueue.lua: push jobs onto a queue, register the queue's name and wake idle nodes, in one
-- round trip, once per token: ioredis sends a command again when its reply was lost to a
-- reconnect, and a call that already ran must not push its jobs twice.
-- KEYS[1]   \`queue:<name>\`           the queue's list
-- KEYS[2]   \`verk:call:<name>:<token>\`  the call's token, remembered for ARGV[3] seconds
-- KEYS[3]   \`queues\` (optional)      set of every queue name pushed to; the cluster key scheme
--                                    leaves it out (another slot) and registers the name first
-- ARGV[1]   the queue's name
-- ARGV[2]   the notification channel (\`verk:notify\`); 'work:<name>' is published on it; ''
--           publishes nothing (the cluster key scheme's caller publishes on its sharded channel)
-- ARGV[3]   how long the token is remembered, seconds
-- ARGV[4..] job payloads, oldest first; each is LPUSHed, so the first runs first
-- Returns: the queue's length afterwards, or -1 when the token was used already (nothing pushed).
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then
  return -1
end
if KEYS[3] then
  redis.call('SADD', KEYS[3], ARGV[1])
end
local length = redis.call('LLEN', KEYS[1])
-- LPUSH in chunks: unpack() of thousands of values overflows Lua's stack.
local chunk = 1000
for first = 4, #ARGV, chunk do
  length = redis.call('LPUSH', KEYS[1], unpack(ARGV, first, math.min(first + chunk - 1, #ARGV)))
end
if ARGV[2] ~= '' then
  redis.call('PUBLISH', ARGV[2], 'work:' .. ARGV[1])
end
return length
`

/** `lua/fetch.lua` */
export const fetch = `-- fetch.lua: move up to N of the oldest jobs of a queue into a node's in-progress entries, each
-- under a token (the caller's first token, then the next numbers), so that the job's outcome is
-- written by its token, whatever the payload's size. A fetch that finds its first token taken ran
-- already (a command resent after a lost reply): it takes nothing.
-- A suspect, a job that came back from dead nodes at least ARGV[6] times (counted in
-- \`verk:recovered\`), may be the poison pill that killed them, so it runs alone on a node: it is
-- taken only as a batch of one by a node that asks for isolation (it is idle), and otherwise it
-- ends the batch and stays first in the queue. A job recovered fewer times is taken as any other.
-- A paused queue gives nothing: a fetch that runs after the pause was written takes no job, whether
-- or not its node has heard of the pause yet.
-- KEYS[1]  \`queue:<name>\`                 the queue (jobs are taken from the right: oldest first)
-- KEYS[2]  \`inprogress:<name>:<node>\`     hash: token → payload, the node's in-progress entries
-- KEYS[3]  \`verk:recovered\`               hash: raw payload → times it came back from a dead node
-- KEYS[4]  \`verk:paused\`                  set of the paused queues; in the cluster key scheme
--                                         \`verk:paused:{<name>}\`, which holds the queue's name while paused
-- KEYS[5]  \`verk_nodes\`                   nodes that may hold in-progress jobs; in the cluster key
--                                         scheme \`verk:nodes:{<name>}\`, those of this queue
-- KEYS[6]  \`verk:node:<node>:queues\`      (optional) queues where the node holds in-progress jobs;
--                                         the cluster key scheme has no such key
-- ARGV[1]  N, how many jobs to take; N < 1 takes nothing
-- ARGV[2]  the queue's name
-- ARGV[3]  the node id
-- ARGV[4]  '1' if the node is idle and may take a recovered job alone, else '0'
-- ARGV[5]  the first token: an integer; the k-th job taken gets ARGV[5] + k - 1 (the caller keeps
--          N numbers from ARGV[5] for this fetch, and never gives them out again)
-- ARGV[6]  recoveries from which a job is a suspect (≥ 1)
-- ARGV[7]  (optional) take the jobs whole: the key of a new list \`verk:batch:<name>:<node>:<first>\`
--          to move them into, so that their payloads never pass through Lua (Lua copies every
--          byte: large payloads cost more here than anywhere else). Each job still gets its token
--          in the in-progress hash, with an empty value: its payload is in the list, newest first
--          (the token ARGV[5] + k - 1 at index N - k). The caller reads the list (LRANGE) after
--          this call. Only while no job of the queue is a recovered one (KEYS[3] is empty): a
--          recovered job is looked at by its payload, so then jobs are taken the usual way.
-- ARGV[8]  (with ARGV[7]) \`verk:batches:<name>:<node>\`  hash: batch list → jobs of it still in
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
  -- The oldest \`taken\` jobs are the list's right end; SORT BY nosort copies them as they are.
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
`

/** `lua/heartbeat.lua` */
export const heartbeat = `-- heartbeat.lua: say this node is alive, for Verk's recovery and for Sidekiq's process registry.
-- KEYS[1]  \`verk:node:<node>\`   heartbeat string; its expiry means the node is dead
-- KEYS[2]  \`verk_nodes\`         set of nodes that may hold in-progress jobs
-- KEYS[3]  \`processes\`          Sidekiq's set of live process identities
-- KEYS[4]  \`<node>\`             Sidekiq's process hash (info, busy, beat, quiet, rss)
-- KEYS[5]  \`<node>:work\`        Sidekiq 7+'s hash of what runs now
-- KEYS[6]  \`<node>:workers\`     Sidekiq 6's hash of what runs now (the same entries)
-- ARGV[1]  the node id (also its Sidekiq identity)
-- ARGV[2]  heartbeat time to live, milliseconds
-- ARGV[3]  now, epoch seconds (Sidekiq's \`beat\`)
-- ARGV[4]  Sidekiq \`info\` JSON
-- ARGV[5]  jobs running now (\`busy\`)
-- ARGV[6]  resident set size, KB (Sidekiq's \`rss\`)
-- ARGV[7..] pairs for \`<node>:work\` and \`<node>:workers\`: field, JSON
-- Returns: 1.
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[3], 'PX', ttl)
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[4], 'info', ARGV[4], 'busy', ARGV[5], 'beat', ARGV[3], 'quiet', 'false', 'rss', ARGV[6])
-- Sidekiq's web UI drops a process whose hash has expired; 60 s is its own choice.
redis.call('EXPIRE', KEYS[4], math.max(60, math.ceil(ttl / 1000)))
redis.call('DEL', KEYS[5], KEYS[6])
if #ARGV >= 8 then
  redis.call('HSET', KEYS[5], unpack(ARGV, 7))
  redis.call('HSET', KEYS[6], unpack(ARGV, 7))
  redis.call('EXPIRE', KEYS[5], math.max(60, math.ceil(ttl / 1000)))
  redis.call('EXPIRE', KEYS[6], math.max(60, math.ceil(ttl / 1000)))
end
return 1
`

/** `lua/in_progress.lua` */
export const inProgress = `-- in_progress.lua: a node's in-progress entries of a queue, with the payloads of jobs taken whole
-- (fetch.lua) read from their batch lists. Reads only.
-- KEYS[1]  \`inprogress:<name>:<node>\`  hash: token → payload (empty for a job taken whole)
-- KEYS[2]  \`verk:batches:<name>:<node>\`  hash: batch list → jobs of it still in progress
-- Returns: token, payload, token, payload...
-- whole_jobs.lua (included by materialize.lua and in_progress.lua, see packages/redis/build/embedLua.ts):
-- The payloads of jobs taken whole (fetch.lua) by their tokens, and the batch lists holding them.
-- A list holds its batch newest first and is named after its first token (\`…:<first>\`).
local function wholeJobs(batches)
  local payloads, lists = {}, redis.call('HKEYS', batches)
  for i = 1, #lists do
    local first = tonumber(string.match(lists[i], ':(%-?%d+)$'))
    local jobs = redis.call('LRANGE', lists[i], 0, -1)
    for j = 1, #jobs do
      payloads[string.format('%.0f', first + #jobs - j)] = jobs[j]
    end
  end
  return payloads, lists
end
local flat = redis.call('HGETALL', KEYS[1])
local whole = wholeJobs(KEYS[2])
for i = 1, #flat, 2 do
  local payload = whole[flat[i]]
  if payload ~= nil then
    flat[i + 1] = payload
  end
end
return flat
`

/** `lua/kill.lua` */
export const kill = `-- kill.lua: move a job to the dead set, trim the dead set, and take the job out of
-- in-progress, atomically, so that the outcome is written before (and with) the ack.
-- KEYS[1]  \`inprogress:<name>:<node>\`  hash: token → payload
-- KEYS[2]  \`dead\`  sorted set
-- KEYS[3]  \`verk:batches:<name>:<node>\`  hash: batch list → jobs of it still in progress
-- ARGV[1]  the job's token (its entry is removed from in-progress)
-- ARGV[2]  the payload to keep in dead
-- ARGV[3]  when it died, epoch seconds (the score)
-- ARGV[4]  the most dead jobs to keep (the newest stay)
-- ARGV[5]  the age cutoff, epoch seconds: dead jobs scored at or before it are dropped
-- ARGV[6]  the batch list the job was taken whole into (fetch.lua), or ''
-- Returns: 1.
-- settle.lua (included by ack.lua, retry.lua and kill.lua, see packages/redis/build/embedLua.ts):
-- Takes \`token\` out of the in-progress entries; when it was taken whole (fetch.lua) with \`batch\`,
-- counts the batch down and deletes its list with its last job.
local function settle(inProgress, batches, token, batch)
  local removed = redis.call('HDEL', inProgress, token)
  if removed == 1 and batch ~= '' and redis.call('HEXISTS', batches, batch) == 1 then
    if redis.call('HINCRBY', batches, batch, -1) <= 0 then
      redis.call('DEL', batch)
      redis.call('HDEL', batches, batch)
    end
  end
  return removed
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[4]) + 1))
settle(KEYS[1], KEYS[3], ARGV[1], ARGV[6])
return 1
`

/** `lua/limit_acquire.lua` */
export const limitAcquire = `-- limit_acquire.lua: take a slot of a concurrency limit for one run, if one is free.
-- KEYS[1]  \`verk:limit:concurrency:<limit>\`  hash: holder → its node
-- ARGV[1]  the limit (holders at most)
-- ARGV[2]  the holder (\`<node>:<queue>:<token>\`, one run)
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
`

/** `lua/limit_rate.lua` */
export const limitRate = `-- limit_rate.lua: one start of a rate limit, by a sliding window log: admitted (and recorded)
-- when fewer than the limit's starts lie in the last window, else how long until the oldest
-- leaves it. The time is Redis's own (TIME), so every node shares one clock.
-- KEYS[1]  \`verk:limit:rate:<limit>\`  sorted set: start member → its time (epoch milliseconds)
-- ARGV[1]  the limit (starts per window)
-- ARGV[2]  the window, milliseconds
-- ARGV[3]  the start's member (unique per start)
-- Returns: {1, 0} when admitted; {0, wait} when over, wait in milliseconds.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local limit = tonumber(ARGV[1])
local per = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - per)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], per)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + per - now
if wait < 0 then wait = 0 end
return {0, wait}
`

/** `lua/limit_release_node.lua` */
export const limitReleaseNode = `-- limit_release_node.lua: free every slot a node holds in one concurrency limit (the node died
-- and is being recovered, or it is leaving).
-- KEYS[1]  \`verk:limit:concurrency:<limit>\`  hash: holder → its node
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
`

/** `lua/metrics.lua` */
export const metrics = `-- metrics.lua: add a flush's per-class execution metrics to their minutes (Sidekiq 7's format) in
-- one round trip, once per token (a call ioredis sends again after a lost reply must not count twice).
-- KEYS[1]        \`verk:call:<token>\`  the call's token, remembered for ARGV[1] seconds
-- KEYS[2..h+1]   \`j|<YYYYMMDD>|<H>:<M>\`  a minute's hash (fields \`<class>|p\`, \`<class>|f\`, \`<class>|ms\`)
-- KEYS[h+2..]    \`<class>-<DD>-<HH>:<M>\`  a class's duration histogram of a minute (u16 fields)
-- ARGV[1]  how long the token is remembered, seconds
-- ARGV[2]  how long every key of KEYS[2..] is kept, seconds
-- ARGV[3]  h, the number of minute hashes
-- ARGV[4..] for each key of KEYS[2..] in order: a count n, then n pairs: for a hash, field and
--           increment; for a histogram, bucket index and increment (saturating at 65535)
-- Returns: 1, or 0 when the token was used already (nothing counted).
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
local hashes = tonumber(ARGV[3])
local at = 4
for k = 2, #KEYS do
  local n = tonumber(ARGV[at])
  at = at + 1
  if k <= hashes + 1 then
    for _ = 1, n do
      redis.call('HINCRBY', KEYS[k], ARGV[at], ARGV[at + 1])
      at = at + 2
    end
  else
    local command = { KEYS[k], 'OVERFLOW', 'SAT' }
    for _ = 1, n do
      command[#command + 1] = 'INCRBY'
      command[#command + 1] = 'u16'
      command[#command + 1] = '#' .. ARGV[at]
      command[#command + 1] = ARGV[at + 1]
      at = at + 2
    end
    if n > 0 then
      redis.call('BITFIELD', unpack(command))
    end
  end
  redis.call('EXPIRE', KEYS[k], ARGV[2])
end
return 1
`

/** `lua/metrics_read.lua` */
export const metricsRead = `-- metrics_read.lua: read a window's execution metrics in one round trip (Verk Web's Metrics pages):
-- minute hashes and per-class histograms, as many keys as the caller sends (it sends at most 1,000).
-- KEYS[1..h]   \`j|<YYYYMMDD>|<H>:<M>\`  minute hashes
-- KEYS[h+1..]  \`<class>-<DD>-<HH>:<M>\`  histograms (u16 fields)
-- ARGV[1]  h, the number of minute hashes
-- ARGV[2]  the number of histogram buckets
-- Returns: for each minute hash its fields and values (HGETALL, flat; empty when missing), then for
-- each histogram its bucket counts (0 when missing).
local hashes = tonumber(ARGV[1])
local get = {}
for index = 0, tonumber(ARGV[2]) - 1 do
  get[#get + 1] = 'GET'
  get[#get + 1] = 'u16'
  get[#get + 1] = '#' .. index
end
local out = {}
for k = 1, #KEYS do
  if k <= hashes then
    out[k] = redis.call('HGETALL', KEYS[k])
  else
    out[k] = redis.call('BITFIELD', KEYS[k], unpack(get))
  end
end
return out
`

/** `lua/periodic_claim.lua` */
export const periodicClaim = `-- periodic_claim.lua: one tick of a periodic entry (or one \`run now\` request), enqueued once
-- whatever the number of nodes asking: the entry's state remembers the last tick handled, and a
-- tick not later than it was handled already. A paused entry's tick is handled and pushes nothing.
-- KEYS[1]   \`verk:periodic:<name>\` (cluster: \`verk:periodic:{<queue>}:<name>\`)  the entry's state,
--           a hash: \`last\` (tick handled), \`enqueued\` (tick pushed), \`paused\` ('1'), \`run\` (request)
-- KEYS[2]   \`queue:<queue>\`          the queue's list
-- KEYS[3]   \`queues\` (optional)      set of every queue name pushed to; the cluster key scheme
--                                    leaves it out (another slot) and registers the name first
-- ARGV[1]   the queue's name
-- ARGV[2]   the notification channel; 'work:<queue>' is published on it; '' publishes nothing
-- ARGV[3]   seconds the state is kept after this call
-- ARGV[4]   'tick' or 'run'
-- ARGV[5]   the tick (epoch milliseconds), or the time of the \`run now\` request it answers
-- ARGV[6]   the job's payload
-- Returns: 1 pushed, 0 taken already (by another node or an earlier call), 2 paused (handled, not pushed).
local at = tonumber(ARGV[5])
if ARGV[4] == 'run' then
  if tonumber(redis.call('HGET', KEYS[1], 'run')) ~= at then
    return 0
  end
  redis.call('HDEL', KEYS[1], 'run')
else
  local last = tonumber(redis.call('HGET', KEYS[1], 'last'))
  if last and last >= at then
    return 0
  end
  redis.call('HSET', KEYS[1], 'last', ARGV[5])
  if redis.call('HGET', KEYS[1], 'paused') == '1' then
    redis.call('EXPIRE', KEYS[1], ARGV[3])
    return 2
  end
  redis.call('HSET', KEYS[1], 'enqueued', ARGV[5])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
if KEYS[3] then
  redis.call('SADD', KEYS[3], ARGV[1])
end
redis.call('LPUSH', KEYS[2], ARGV[6])
if ARGV[2] ~= '' then
  redis.call('PUBLISH', ARGV[2], 'work:' .. ARGV[1])
end
return 1
`

/** `lua/periodic_declare.lua` */
export const periodicDeclare = `-- periodic_declare.lua: a node declares its periodic entries (for listings: \`verk periodic list\`),
-- and entries that no node declared for a while leave the registry.
-- KEYS[1]   \`verk:periodic\`          hash: entry name → its record (JSON: queue, description)
-- KEYS[2]   \`verk:periodic-seen\`     sorted set: entry name, scored by its last declaration (ms)
-- ARGV[1]   now, epoch milliseconds
-- ARGV[2]   records declared before this (epoch milliseconds) are forgotten
-- ARGV[3..] pairs: an entry's name, its record
-- Returns: how many records were forgotten.
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[i])
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])
for _, name in ipairs(stale) do
  redis.call('HDEL', KEYS[1], name)
  redis.call('ZREM', KEYS[2], name)
end
return #stale
`

/** `lua/promote.lua` */
export const promote = `-- promote.lua: move given members of a sorted set (schedule, retry or dead) to their queues,
-- each only if it is still in the set, so that several nodes promoting at once move it once.
-- Serves both promotion of due jobs and "requeue now". Every key it writes is passed in KEYS, so
-- that in the cluster key scheme (one queue's keys share a slot) the caller sends one queue's
-- promotions per call.
-- KEYS[1]       the sorted set (\`schedule\`, \`retry\` or \`dead\`)
-- KEYS[2]       \`dead\`
-- KEYS[3..2+N]  the queues pushed to (\`queue:<name>\`), N = ARGV[3]
-- KEYS[3+N]     \`queues\` (optional): the queue names are added to it; the cluster key scheme
--               leaves it out (another slot) and registers the names first
-- ARGV[1]       the notification channel; 'work:<name>' is published once per queue pushed to;
--               '' publishes nothing (the cluster key scheme's caller publishes on its sharded channel)
-- ARGV[2]       score for members sent to dead, epoch seconds
-- ARGV[3]       N, how many queue keys follow KEYS[2]
-- ARGV[4..]     quadruples: raw member, payload to write, queue name, index of its key in
--               KEYS[3..2+N] (1-based; 0 sends the payload to dead, the name is then ignored)
-- Returns: { how many members were moved, the names of the queues pushed to }.
local queueCount = tonumber(ARGV[3])
local registry = KEYS[3 + queueCount]
local moved = 0
local woken = {}
for i = 4, #ARGV, 4 do
  local raw, payload, queue, index = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  if redis.call('ZREM', KEYS[1], raw) == 1 then
    if index == 0 then
      redis.call('ZADD', KEYS[2], ARGV[2], payload)
    else
      redis.call('LPUSH', KEYS[2 + index], payload)
      if registry then
        redis.call('SADD', registry, queue)
      end
      woken[queue] = true
    end
    moved = moved + 1
  end
end
local pushed = {}
for queue in pairs(woken) do
  pushed[#pushed + 1] = queue
  if ARGV[1] ~= '' then
    redis.call('PUBLISH', ARGV[1], 'work:' .. queue)
  end
end
return { moved, pushed }
`

/** `lua/recover_inprogress.lua` */
export const recoverInprogress = `-- recover_inprogress.lua: put one batch of a dead node's in-progress jobs back at the front of
-- their queue, counting how often each came back from a dead node. A job over the limit is a
-- poison pill: it stays in the dead node's entries and is returned with its token, for the caller
-- to move to dead with its reason in one atomic step (kill.lua). Each batch is atomic, so nodes
-- recovering the same dead node at once duplicate nothing.
-- KEYS[1]  \`inprogress:<name>:<node>\`  of the dead node: hash, token → payload
-- KEYS[2]  \`queue:<name>\`
-- KEYS[3]  \`verk:recovered\`  hash: raw payload → times recovered (fetch.lua runs these alone)
-- KEYS[4]  \`verk:batches:<name>:<node>\`  of the dead node: batch list → jobs of it still in progress
-- ARGV[1]  batch size (≥ 1)
-- ARGV[2]  the queue's name
-- ARGV[3]  the notification channel; 'work:<name>' is published when jobs were requeued; ''
--          publishes nothing (the cluster key scheme's caller publishes on its sharded channel)
-- ARGV[4]  most recoveries a job may have; one more makes it a poison pill
-- ARGV[5]  seconds to keep recovery counts (refreshed on each recovery)
-- Returns: { jobs taken from the entries, the poison pills as token, payload, token, payload... }.
-- newest_first.lua (included by requeue_inprogress.lua and recover_inprogress.lua, see
-- packages/redis/build/embedLua.ts):
-- materialize.lua (included by requeue_orphans.lua and newest_first.lua, see
-- packages/redis/build/embedLua.ts):
-- whole_jobs.lua (included by materialize.lua and in_progress.lua, see packages/redis/build/embedLua.ts):
-- The payloads of jobs taken whole (fetch.lua) by their tokens, and the batch lists holding them.
-- A list holds its batch newest first and is named after its first token (\`…:<first>\`).
local function wholeJobs(batches)
  local payloads, lists = {}, redis.call('HKEYS', batches)
  for i = 1, #lists do
    local first = tonumber(string.match(lists[i], ':(%-?%d+)$'))
    local jobs = redis.call('LRANGE', lists[i], 0, -1)
    for j = 1, #jobs do
      payloads[string.format('%.0f', first + #jobs - j)] = jobs[j]
    end
  end
  return payloads, lists
end
-- Jobs taken whole (fetch.lua) have an empty entry and their payload in a batch list: each entry
-- still here gets its payload back, and the batch lists go.
local function materialize(inProgress, batches)
  local payloads, lists = wholeJobs(batches)
  for token, payload in pairs(payloads) do
    if redis.call('HEXISTS', inProgress, token) == 1 then
      redis.call('HSET', inProgress, token, payload)
    end
  end
  for i = 1, #lists do
    redis.call('DEL', lists[i])
  end
  redis.call('DEL', batches)
end
-- A node's in-progress entries of a queue, each with its payload, newest first (the largest token
-- first): { token as a number, token, payload }. A list under the entries' key was left by a node
-- of an earlier version (in-progress lists of payloads): it becomes entries first, the oldest
-- (rightmost) under the lowest token.
local function newestFirst(inProgress, batches)
  if redis.call('TYPE', inProgress).ok == 'list' then
    local old = redis.call('LRANGE', inProgress, 0, -1)
    redis.call('DEL', inProgress)
    for i = 1, #old do
      redis.call('HSET', inProgress, string.format('%.0f', -i), old[i])
    end
  end
  materialize(inProgress, batches)
  local flat = redis.call('HGETALL', inProgress)
  local entries = {}
  for i = 1, #flat, 2 do
    entries[#entries + 1] = { tonumber(flat[i]), flat[i], flat[i + 1] }
  end
  table.sort(entries, function(a, b) return a[1] > b[1] end)
  return entries
end
-- The newest batch, newest first: pushed onto the queue's right end in this order, the oldest of
-- the batch runs first, and an older batch (the next call) runs before it.
local entries = newestFirst(KEYS[1], KEYS[4])
local batch = math.min(tonumber(ARGV[1]), #entries)
if batch == 0 then
  return { 0, {} }
end
local limit = tonumber(ARGV[4])
local requeued, poisoned = 0, {}
for i = 1, batch do
  local token, raw = entries[i][2], entries[i][3]
  if redis.call('HINCRBY', KEYS[3], raw, 1) > limit then
    poisoned[#poisoned + 1] = token
    poisoned[#poisoned + 1] = raw
  else
    redis.call('HDEL', KEYS[1], token)
    redis.call('RPUSH', KEYS[2], raw)
    requeued = requeued + 1
  end
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5]))
if requeued > 0 and ARGV[3] ~= '' then
  redis.call('PUBLISH', ARGV[3], 'work:' .. ARGV[2])
end
return { batch, poisoned }
`

/** `lua/requeue_inprogress.lua` */
export const requeueInprogress = `-- requeue_inprogress.lua: move one batch of a node's in-progress jobs back to their queue,
-- to the right end so that they run next, in the order they were first taken (by token).
-- Each batch is atomic, so nodes recovering the same dead node at once duplicate nothing.
-- KEYS[1]  \`inprogress:<name>:<node>\`  hash: token → payload (a larger token was fetched later)
-- KEYS[2]  \`queue:<name>\`
-- KEYS[3]  \`verk:batches:<name>:<node>\`  hash: batch list → jobs of it still in progress
-- ARGV[1]  batch size (≥ 1)
-- ARGV[2]  the queue's name
-- ARGV[3]  the notification channel; 'work:<name>' is published when jobs moved; '' publishes
--          nothing (the cluster key scheme's caller publishes on its sharded channel)
-- Returns: how many jobs moved; 0 when there are no in-progress entries.
-- newest_first.lua (included by requeue_inprogress.lua and recover_inprogress.lua, see
-- packages/redis/build/embedLua.ts):
-- materialize.lua (included by requeue_orphans.lua and newest_first.lua, see
-- packages/redis/build/embedLua.ts):
-- whole_jobs.lua (included by materialize.lua and in_progress.lua, see packages/redis/build/embedLua.ts):
-- The payloads of jobs taken whole (fetch.lua) by their tokens, and the batch lists holding them.
-- A list holds its batch newest first and is named after its first token (\`…:<first>\`).
local function wholeJobs(batches)
  local payloads, lists = {}, redis.call('HKEYS', batches)
  for i = 1, #lists do
    local first = tonumber(string.match(lists[i], ':(%-?%d+)$'))
    local jobs = redis.call('LRANGE', lists[i], 0, -1)
    for j = 1, #jobs do
      payloads[string.format('%.0f', first + #jobs - j)] = jobs[j]
    end
  end
  return payloads, lists
end
-- Jobs taken whole (fetch.lua) have an empty entry and their payload in a batch list: each entry
-- still here gets its payload back, and the batch lists go.
local function materialize(inProgress, batches)
  local payloads, lists = wholeJobs(batches)
  for token, payload in pairs(payloads) do
    if redis.call('HEXISTS', inProgress, token) == 1 then
      redis.call('HSET', inProgress, token, payload)
    end
  end
  for i = 1, #lists do
    redis.call('DEL', lists[i])
  end
  redis.call('DEL', batches)
end
-- A node's in-progress entries of a queue, each with its payload, newest first (the largest token
-- first): { token as a number, token, payload }. A list under the entries' key was left by a node
-- of an earlier version (in-progress lists of payloads): it becomes entries first, the oldest
-- (rightmost) under the lowest token.
local function newestFirst(inProgress, batches)
  if redis.call('TYPE', inProgress).ok == 'list' then
    local old = redis.call('LRANGE', inProgress, 0, -1)
    redis.call('DEL', inProgress)
    for i = 1, #old do
      redis.call('HSET', inProgress, string.format('%.0f', -i), old[i])
    end
  end
  materialize(inProgress, batches)
  local flat = redis.call('HGETALL', inProgress)
  local entries = {}
  for i = 1, #flat, 2 do
    entries[#entries + 1] = { tonumber(flat[i]), flat[i], flat[i + 1] }
  end
  table.sort(entries, function(a, b) return a[1] > b[1] end)
  return entries
end
-- The newest batch, newest first: pushed onto the queue's right end in this order, the oldest of
-- the batch runs first, and an older batch (the next call) runs before it.
local entries = newestFirst(KEYS[1], KEYS[3])
local batch = math.min(tonumber(ARGV[1]), #entries)
if batch == 0 then
  return 0
end
for i = 1, batch do
  redis.call('HDEL', KEYS[1], entries[i][2])
  redis.call('RPUSH', KEYS[2], entries[i][3])
end
if ARGV[3] ~= '' then
  redis.call('PUBLISH', ARGV[3], 'work:' .. ARGV[2])
end
return batch
`

/** `lua/requeue_orphans.lua` */
export const requeueOrphans = `-- requeue_orphans.lua: put back jobs that sit in this node's in-progress entries but that the node
-- is not running (a fetch whose reply was lost): each moves to the front of its queue only if it
-- is still there, so a job acked meanwhile is not run again.
-- KEYS[1]   \`inprogress:<name>:<node>\`  hash: token → payload
-- KEYS[2]   \`queue:<name>\`
-- KEYS[3]   \`verk:batches:<name>:<node>\`  hash: batch list → jobs of it still in progress
-- ARGV[1]   the queue's name
-- ARGV[2]   the notification channel; 'work:<name>' is published when jobs moved; '' publishes
--           nothing (the cluster key scheme's caller publishes on its sharded channel)
-- ARGV[3..] the tokens of the jobs to move
-- Returns: how many jobs moved.
-- materialize.lua (included by requeue_orphans.lua and newest_first.lua, see
-- packages/redis/build/embedLua.ts):
-- whole_jobs.lua (included by materialize.lua and in_progress.lua, see packages/redis/build/embedLua.ts):
-- The payloads of jobs taken whole (fetch.lua) by their tokens, and the batch lists holding them.
-- A list holds its batch newest first and is named after its first token (\`…:<first>\`).
local function wholeJobs(batches)
  local payloads, lists = {}, redis.call('HKEYS', batches)
  for i = 1, #lists do
    local first = tonumber(string.match(lists[i], ':(%-?%d+)$'))
    local jobs = redis.call('LRANGE', lists[i], 0, -1)
    for j = 1, #jobs do
      payloads[string.format('%.0f', first + #jobs - j)] = jobs[j]
    end
  end
  return payloads, lists
end
-- Jobs taken whole (fetch.lua) have an empty entry and their payload in a batch list: each entry
-- still here gets its payload back, and the batch lists go.
local function materialize(inProgress, batches)
  local payloads, lists = wholeJobs(batches)
  for token, payload in pairs(payloads) do
    if redis.call('HEXISTS', inProgress, token) == 1 then
      redis.call('HSET', inProgress, token, payload)
    end
  end
  for i = 1, #lists do
    redis.call('DEL', lists[i])
  end
  redis.call('DEL', batches)
end
materialize(KEYS[1], KEYS[3])
local moved = 0
for i = 3, #ARGV do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('RPUSH', KEYS[2], raw)
    moved = moved + 1
  end
end
if moved > 0 and ARGV[2] ~= '' then
  redis.call('PUBLISH', ARGV[2], 'work:' .. ARGV[1])
end
return moved
`

/** `lua/retry.lua` */
export const retry = `-- retry.lua: schedule a failed job's retry and take it out of in-progress, atomically,
-- so that the outcome is written before (and with) the ack.
-- KEYS[1]  \`inprogress:<name>:<node>\`  hash: token → payload
-- KEYS[2]  \`retry\`  sorted set (or \`schedule\`: a snooze, see OutcomeWrite.ts, reuses this script)
-- KEYS[3]  \`verk:batches:<name>:<node>\`  hash: batch list → jobs of it still in progress
-- ARGV[1]  the job's token (its entry is removed from in-progress)
-- ARGV[2]  the payload to retry (with retry_count and error fields)
-- ARGV[3]  when to retry, epoch seconds (the score)
-- ARGV[4]  the notification channel; 'scheduled' is published so schedulers look again; ''
--          publishes nothing (the cluster key scheme's caller publishes on its sharded channel)
-- ARGV[5]  the batch list the job was taken whole into (fetch.lua), or ''
-- Returns: 1.
-- settle.lua (included by ack.lua, retry.lua and kill.lua, see packages/redis/build/embedLua.ts):
-- Takes \`token\` out of the in-progress entries; when it was taken whole (fetch.lua) with \`batch\`,
-- counts the batch down and deletes its list with its last job.
local function settle(inProgress, batches, token, batch)
  local removed = redis.call('HDEL', inProgress, token)
  if removed == 1 and batch ~= '' and redis.call('HEXISTS', batches, batch) == 1 then
    if redis.call('HINCRBY', batches, batch, -1) <= 0 then
      redis.call('DEL', batch)
      redis.call('HDEL', batches, batch)
    end
  end
  return removed
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
settle(KEYS[1], KEYS[3], ARGV[1], ARGV[5])
if ARGV[4] ~= '' then
  redis.call('PUBLISH', ARGV[4], 'scheduled')
end
return 1
`

/** `lua/stats.lua` */
export const stats = `-- stats.lua: add a batch of outcomes to Sidekiq's counters in one round trip, once per token
-- (a call ioredis sends again after a lost reply must not count twice).
-- KEYS[1]  \`stat:processed\`
-- KEYS[2]  \`stat:processed:<YYYY-MM-DD>\` (UTC)
-- KEYS[3]  \`stat:failed\`
-- KEYS[4]  \`stat:failed:<YYYY-MM-DD>\` (UTC)
-- KEYS[5]  \`verk:call:<token>\`  the call's token, remembered for ARGV[3] seconds
-- ARGV[1]  jobs processed in the batch
-- ARGV[2]  jobs failed in the batch
-- ARGV[3]  how long the token is remembered, seconds
-- Returns: 1, or 0 when the token was used already (nothing counted).
if not redis.call('SET', KEYS[5], '1', 'NX', 'EX', ARGV[3]) then
  return 0
end
local processed, failed = tonumber(ARGV[1]), tonumber(ARGV[2])
if processed > 0 then
  redis.call('INCRBY', KEYS[1], processed)
  redis.call('INCRBY', KEYS[2], processed)
end
if failed > 0 then
  redis.call('INCRBY', KEYS[3], failed)
  redis.call('INCRBY', KEYS[4], failed)
end
return 1
`

/** `lua/unique_push.lua` */
export const uniquePush = `-- unique_push.lua: take a unique job's lock and write the job, in one step; or, the lock being
-- held, write nothing and name its holder; or (debounce) replace the holder while it waits in
-- \`schedule\`. A resend of the same call finds the lock held by its own jid and writes nothing more.
-- KEYS[1]   \`verk:unique:<queue>:<digest>\`          the lock: the holder's jid, expiring (PX)
-- KEYS[2]   \`verk:unique:<queue>:<digest>:waiting\`  debounce: the holder's payload in \`schedule\`
-- KEYS[3]   \`queue:<name>\`, or \`schedule\` when ARGV[4] is not ''  (cluster scheme: all three in
--           the queue's slot: \`{<queue>}\`)
-- KEYS[4]   \`queues\` (optional)  the queue registry, written on a push to a queue (Sidekiq scheme)
-- ARGV[1]   the job's jid
-- ARGV[2]   the lock's time to live, milliseconds
-- ARGV[3]   the job's payload
-- ARGV[4]   epoch seconds when it waits in \`schedule\`; '' pushes it to its queue
-- ARGV[5]   '1' to debounce (replace a waiting holder), '0' otherwise
-- ARGV[6]   the queue's name
-- ARGV[7]   the notification channel; '' publishes nothing (the cluster scheme's caller does)
-- Returns: {1, jid} written (this call holds the lock), {0, holder} a duplicate (nothing
-- written), {2, holder} the waiting holder replaced by ARGV[3] with the holder's jid.
local jid = ARGV[1]
local holder = redis.call('GET', KEYS[1])
local scheduled = ARGV[4] ~= ''
local function publish(message)
  if ARGV[7] ~= '' then
    redis.call('PUBLISH', ARGV[7], message)
  end
end
if holder == jid then
  return {1, jid}
end
if holder then
  if ARGV[5] ~= '1' then
    return {0, holder}
  end
  local waiting = redis.call('GET', KEYS[2])
  if waiting and scheduled and redis.call('ZREM', KEYS[3], waiting) == 1 then
    -- The new payload with the holder's jid (JSON.stringify writes \`"jid":"..."\` unspaced).
    local from = '"jid":' .. cjson.encode(jid)
    local first, last = string.find(ARGV[3], from, 1, true)
    local payload = ARGV[3]
    if first then
      payload = string.sub(payload, 1, first - 1) .. '"jid":' .. cjson.encode(holder) .. string.sub(payload, last + 1)
    end
    redis.call('ZADD', KEYS[3], ARGV[4], payload)
    redis.call('SET', KEYS[2], payload, 'PX', ARGV[2])
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    publish('scheduled')
    return {2, holder}
  end
  -- The holder has left \`schedule\` (it runs): this job takes the lock.
end
redis.call('SET', KEYS[1], jid, 'PX', ARGV[2])
if scheduled then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
  if ARGV[5] == '1' then
    redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
  end
  publish('scheduled')
else
  if KEYS[4] then
    redis.call('SADD', KEYS[4], ARGV[6])
  end
  redis.call('LPUSH', KEYS[3], ARGV[3])
  publish('work:' .. ARGV[6])
end
return {1, jid}
`

/** `lua/unique_release.lua` */
export const uniqueRelease = `-- unique_release.lua: free a unique job's lock, only if this job still holds it (a lock that
-- lapsed and was taken by another job stays with that job).
-- KEYS[1]   \`verk:unique:<queue>:<digest>\`          the lock: the holder's jid
-- KEYS[2]   \`verk:unique:<queue>:<digest>:waiting\`  debounce: the holder's payload
-- ARGV[1]   the job's jid
-- Returns: 1 when the lock was freed, 0 when this job did not hold it.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`
