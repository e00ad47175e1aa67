-- Single server: the live sessions of an owner, pruning its index of the dead, atomically.
-- KEYS[1] the owner index key
-- ARGV[1] the session key prefix;  ARGV[2] the owner field's name;  ARGV[3] the escaped owner
-- ARGV[4] "1": each session's expiry and fields (list), "0": ids only (count)
-- Returns { id, expiry, fields, … } (expiry in ms since the epoch, "0": never; fields the
-- session's HGETALL, read once and also searched for the owner), or { id, … } for "0". A member whose session is gone (killed, expired, evicted by Redis) or
-- belongs to another owner is removed from the index, and not returned.
local now = now_ms()
local out, gone = {}, {}
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
      out[#out + 1] = id
      out[#out + 1] = expiry_of(key, now)
      out[#out + 1] = fields
    else
      gone[#gone + 1] = id
    end
  elseif redis.call('HGET', key, ARGV[2]) == ARGV[3] then
    out[#out + 1] = id
  else
    gone[#gone + 1] = id
  end
end
if #gone > 0 then
  index_remove(KEYS[1], gone, 1, #gone)
end
return out
