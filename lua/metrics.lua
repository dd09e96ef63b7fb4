-- metrics.lua: add a flush's per-class execution metrics to their minutes (Sidekiq 7's format) in
-- one round trip, once per token (a call ioredis sends again after a lost reply must not count twice).
-- KEYS[1]        `verk:call:<token>`  the call's token, remembered for ARGV[1] seconds
-- KEYS[2..h+1]   `j|<YYYYMMDD>|<H>:<M>`  a minute's hash (fields `<class>|p`, `<class>|f`, `<class>|ms`)
-- KEYS[h+2..]    `<class>-<DD>-<HH>:<M>`  a class's duration histogram of a minute (u16 fields)
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
