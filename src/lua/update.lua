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

-- The merged data: each key's value length, the number of keys, and the bytes of keys and
-- values together. Existing keys keep their place, new ones are appended, null deletes.
local len, order = {}, false
local count, bytes = 0, 0
for i = 1, #hash, 2 do
  local f = hash[i]
  if f == order_field then
    order = hash[i + 1]
  elseif not is_reserved(f) then
    len[f] = #hash[i + 1]
    count = count + 1
    bytes = bytes + #f + #hash[i + 1]
  end
end
local added, removed = {}, false
for i = first, last, 2 do
  local f = ARGV[i]
  if len[f] then
    bytes = bytes - #f - len[f]
  else
    count = count + 1
    added[#added + 1] = f
  end
  len[f] = #ARGV[i + 1]
  bytes = bytes + #f + len[f]
end
for i = last + 1, #ARGV do
  local f = ARGV[i]
  if len[f] then
    bytes = bytes - #f - len[f]
    len[f] = nil
    count = count - 1
    removed = true
  end
end
if count > tonumber(ARGV[4]) then
  return -1
end
-- The JSON text: braces, quotes and a colon per key, commas between, plus the keys' escapes.
-- Escapes add at most 5 bytes per key byte, so they are counted only near the limit.
local max_bytes = tonumber(ARGV[3])
local size = 2 + bytes + 3 * count + math.max(count - 1, 0)
if size <= max_bytes and size + 5 * bytes > max_bytes then
  for f in pairs(len) do
    size = size + json_string_len(f) - #f - 2
  end
end
if size > max_bytes then
  return -2
end

-- HSET first: the first write decides whether maxmemory refuses the script.
for i = first, last, 200 do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 199, last)))
end
for i = last + 1, #ARGV, 200 do
  redis.call('HDEL', key, unpack(ARGV, i, math.min(i + 199, #ARGV)))
end

-- A listpack hash is in insertion order; once Redis has made it an unordered hashtable the
-- order field keeps the order (see lib.lua). Written the first time the hash is found
-- unordered (the order read above is still the listpack's), then whenever keys come or go.
if order and (#added > 0 or removed) or not order and is_unordered(key) then
  local keys, seen = {}, {}
  local function keep(f)
    if len[f] and not seen[f] then
      keys[#keys + 1] = f
      seen[f] = true
    end
  end
  if order then
    for _, f in ipairs(decode_order(order)) do
      keep(f)
    end
  end
  -- Keys the order field lacks (a session written before it had one) follow in hash order.
  for i = 1, #hash, 2 do
    if not is_reserved(hash[i]) then
      keep(hash[i])
    end
  end
  for _, f in ipairs(added) do
    keep(f)
  end
  redis.call('HSET', key, order_field, encode_order(keys))
end
return 1
