-- Merges fields into an existing session without touching its TTL, atomically, if the merged
-- data stays within the documented limits (checked here, per session, not per call).
-- KEYS[1]  the session key
-- ARGV[1]  the owner field's name;  ARGV[2] the order field's name
-- ARGV[3]  the most bytes of JSON the data may take;  ARGV[4] the most top-level keys
-- ARGV[5]  n, the number of field/value pairs that follow
-- ARGV[6 … 2n+5]  field, value, … to set
-- ARGV[2n+6 …]    fields to delete
-- Returns 1; 0 when the session does not exist (or has expired); -1 when the data would have
-- too many keys, -2 when its JSON would be too large (nothing is written then).
local key, owner_field, order_field = KEYS[1], ARGV[1], ARGV[2]
local first, last = 6, 5 + 2 * tonumber(ARGV[5])
local hash = redis.call('HGETALL', key)
if #hash == 0 then
  return 0
end

-- The stored data: each key's share of the JSON text (`"key":value`), and the keys in order.
local share, stored, order = {}, {}, false
for i = 1, #hash, 2 do
  local f = hash[i]
  if f == order_field then
    order = hash[i + 1]
  elseif f ~= owner_field then
    share[f] = json_string_len(f) + 1 + #hash[i + 1]
    stored[#stored + 1] = f
  end
end
-- A listpack hash is already in insertion order; a hashtable keeps its order in the order field
-- (keys it lacks, from a session written before there was one, follow in hash order).
local keys, listed = {}, {}
if order then
  for _, f in ipairs(decode_order(order)) do
    if share[f] and not listed[f] then
      keys[#keys + 1] = f
      listed[f] = true
    end
  end
end
for _, f in ipairs(stored) do
  if not listed[f] then
    keys[#keys + 1] = f
  end
end

-- The merged data's size: existing keys keep their place, new ones are appended, null deletes.
local count, bytes, reordered = #keys, 0, false
for _, f in ipairs(keys) do
  bytes = bytes + share[f]
end
for i = first, last, 2 do
  local f = ARGV[i]
  local new = json_string_len(f) + 1 + #ARGV[i + 1]
  if share[f] then
    bytes = bytes - share[f]
  else
    count = count + 1
    keys[#keys + 1] = f
    reordered = true
  end
  share[f] = new
  bytes = bytes + new
end
for i = last + 1, #ARGV do
  local f = ARGV[i]
  if share[f] then
    bytes = bytes - share[f]
    share[f] = nil
    count = count - 1
    reordered = true
  end
end
if count > tonumber(ARGV[4]) then
  return -1
end
-- `{`, `}` and the commas between the fields.
if 2 + bytes + math.max(count - 1, 0) > tonumber(ARGV[3]) then
  return -2
end

-- HSET first: the first write decides whether maxmemory refuses the script.
for i = first, last, 200 do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 199, last)))
end
for i = last + 1, #ARGV, 200 do
  redis.call('HDEL', key, unpack(ARGV, i, math.min(i + 199, #ARGV)))
end
if (reordered or not order) and is_unordered(key) then
  local remaining = {}
  for _, f in ipairs(keys) do
    if share[f] then
      remaining[#remaining + 1] = f
    end
  end
  redis.call('HSET', key, order_field, encode_order(remaining))
end
return 1
