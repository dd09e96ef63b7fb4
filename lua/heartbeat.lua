-- heartbeat.lua: say this node is alive, for Verk's recovery and for Sidekiq's process registry.
-- KEYS[1]  `verk:node:<node>`   heartbeat string; its expiry means the node is dead
-- KEYS[2]  `verk_nodes`         set of nodes that may hold in-progress jobs
-- KEYS[3]  `processes`          Sidekiq's set of live process identities
-- KEYS[4]  `<node>`             Sidekiq's process hash (info, busy, beat, quiet, rss)
-- KEYS[5]  `<node>:work`        Sidekiq 7+'s hash of what runs now
-- KEYS[6]  `<node>:workers`     Sidekiq 6's hash of what runs now (the same entries)
-- ARGV[1]  the node id (also its Sidekiq identity)
-- ARGV[2]  heartbeat time to live, milliseconds
-- ARGV[3]  now, epoch seconds (Sidekiq's `beat`)
-- ARGV[4]  Sidekiq `info` JSON
-- ARGV[5]  jobs running now (`busy`)
-- ARGV[6]  resident set size, KB (Sidekiq's `rss`)
-- ARGV[7..] pairs for `<node>:work` and `<node>:workers`: field, JSON
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
