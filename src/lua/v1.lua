
-- The 1.x migration's helpers (src/migrate.rs), prepended after lib.lua to the v1_* scripts.

-- Reads a 1.x session key. Returns its type and, when it is a string (what 1.x stored), its
-- value, its remaining life in whole seconds for index_add (rounded to the nearest second, at
-- least 1; 0: it never expires) and its PTTL (-1: none).
local function v1_read(key)
  local kind = redis.call('TYPE', key)['ok']
  if kind ~= 'string' then
    return kind
  end
  local pttl = redis.call('PTTL', key)
  local duration = 0
  if pttl >= 0 then
    duration = math.max(1, math.floor((pttl + 500) / 1000))
  end
  return kind, redis.call('GET', key), duration, pttl
end

-- Writes (or refits) the "migrated" marker so that it outlives the 1.x key by `grace` seconds:
-- no TTL when the 1.x key has none (pttl -1).
local function v1_mark(marker, pttl, grace)
  if pttl < 0 then
    redis.call('SET', marker, '1')
  else
    redis.call('SET', marker, '1', 'PX', pttl + tonumber(grace) * 1000)
  end
end
