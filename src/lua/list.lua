-- Single server: the live sessions of an owner, pruning its index of the dead, atomically.
-- KEYS[1] the owner index key
-- ARGV[1] the session key prefix;  ARGV[2] the owner field's name;  ARGV[3] the escaped owner
-- ARGV[4] "1": each session's expiry and fields (list), "0": ids only (count)
-- ARGV[5] (list) at most this many sessions, the newest-created ("0": all)
-- ARGV[6] (list) the creation time field's name
-- Returns { id, expiry, fields, … } (expiry in ms since the epoch, "0": never; fields the
-- session's HGETALL), or { id, … } for "0". A member whose session is gone (killed, expired,
-- evicted by Redis) or belongs to another owner is removed from the index, and not returned.
-- With a limit, only the sessions created at or after the limit-th newest creation time are
-- returned (ties at that time included, so that the caller's exact order, which breaks ties by
-- id, picks from them); sessions without a creation time count as the oldest.
local now = now_ms()
local out, gone = {}, {}
local limit = tonumber(ARGV[5] or '0')
local function emit(id, key, fields)
  out[#out + 1] = id
  out[#out + 1] = expiry_of(key, now)
  out[#out + 1] = fields or redis.call('HGETALL', key)
end
if ARGV[4] == '1' and limit > 0 then
  -- Owner and creation time of each listed session first; the fields of the newest only.
  local live, times = {}, {}
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local f = redis.call('HMGET', ARGV[1] .. id, ARGV[2], ARGV[6])
    if f[1] == ARGV[3] then
      local created = tonumber(f[2]) or -1
      live[#live + 1] = { id, created }
      times[#times + 1] = created
    else
      gone[#gone + 1] = id
    end
  end
  local threshold = -1
  if #times > limit then
    table.sort(times, function(a, b) return a > b end)
    threshold = times[limit]
  end
  for _, s in ipairs(live) do
    if s[2] >= threshold then
      emit(s[1], ARGV[1] .. s[1])
    end
  end
else
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local key = ARGV[1] .. id
    if ARGV[4] == '1' then
      local fields = redis.call('HGETALL', key)
      local owner = false
      for i = 1, #fields, 2 do
        if fields[i] == ARGV[2] then
          owner = fields[i + 1]
          break
        end
      end
      if owner == ARGV[3] then
        emit(id, key, fields)
      else
        gone[#gone + 1] = id
      end
    elseif redis.call('HGET', key, ARGV[2]) == ARGV[3] then
      out[#out + 1] = id
    else
      gone[#gone + 1] = id
    end
  end
end
if #gone > 0 then
  index_remove(KEYS[1], gone, 1, #gone)
end
return out
