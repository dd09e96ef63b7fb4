-- newest_first.lua (included by requeue_inprogress.lua and recover_inprogress.lua, see
-- packages/redis/build/embedLua.ts):
-- #include materialize.lua
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
