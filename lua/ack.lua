-- ack.lua: remove finished jobs from a node's in-progress entries, by their tokens.
-- KEYS[1]   `inprogress:<name>:<node>`  hash: token → payload
-- KEYS[2]   `verk:batches:<name>:<node>`  hash: batch list → jobs of it still in progress
-- ARGV[1..] pairs: a job's token, then the batch list it was taken whole into (fetch.lua), or ''
-- Returns: how many were removed.
-- #include settle.lua
local removed = 0
for i = 1, #ARGV - 1, 2 do
  removed = removed + settle(KEYS[1], KEYS[2], ARGV[i], ARGV[i + 1])
end
return removed
