-- metrics_read.lua: read a window's execution metrics in one round trip (Verk Web's Metrics pages):
-- minute hashes and per-class histograms, as many keys as the caller sends (it sends at most 1,000).
-- KEYS[1..h]   `j|<YYYYMMDD>|<H>:<M>`  minute hashes
-- KEYS[h+1..]  `<class>-<DD>-<HH>:<M>`  histograms (u16 fields)
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
