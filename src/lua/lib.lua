-- The session logic shared by every script: src/scripts.rs prepends this file to each of them.
-- On a single server one script composes these steps atomically (create.lua, refresh.lua, …);
-- on Redis Cluster, where a session and its owner index live in different slots, the client
-- runs the steps one by one (step_*.lua), each touching a single key.

-- The server's clock in milliseconds. Scripts use the server's time, never the client's.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- An index score: a session's expiry in whole seconds, rounded up so that it never precedes
-- the session's own expiry (ms). Seconds fit listpack's 32-bit integer encoding, which keeps
-- every index entry 4 bytes smaller than milliseconds would.
local function index_score(expiry_ms)
  return string.format('%d', math.ceil(expiry_ms / 1000))
end

-- Keeps an owner index alive as long as its longest-lived member: EXPIREAT its highest score,
-- or PERSIST when a member never expires. An empty index no longer exists.
local function fit_index_ttl(index)
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')[2]
  if last == 'inf' then
    redis.call('PERSIST', index)
  elseif last then
    redis.call('EXPIREAT', index, last)
  end
end

-- Lists (or re-scores) session `id` in its owner's index until `expiry` (ms as decimal text,
-- '0': never), drops members whose sessions expired before `now`, and refits the index's TTL.
local function index_add_until(index, id, expiry, now)
  local score = '+inf'
  if expiry ~= '0' then
    score = index_score(tonumber(expiry))
  end
  -- ZADD is this script's first write, and it must be: under maxmemory, Redis refuses a script
  -- only at its first write and only if that command may grow memory (ZADD may,
  -- ZREMRANGEBYSCORE may not). Once any write has run, the rest of the script always runs.
  redis.call('ZADD', index, score, id)
  -- A score below now (in seconds, with the milliseconds as decimals) belongs to a session that
  -- expired at or before its score, i.e. before now. The new score is never below now.
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. string.format('%.3f', now / 1000))
  fit_index_ttl(index)
end

-- Removes session ids from an owner index, with any member whose session has expired, and
-- refits its TTL: a removed session may have been the one that kept the index alive (or alive
-- forever).
local function index_remove(index, ids, first, last)
  for i = first, last, 200 do
    redis.call('ZREM', index, unpack(ids, i, math.min(i + 199, last)))
  end
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. string.format('%.3f', now_ms() / 1000))
  fit_index_ttl(index)
end

-- The length of `s` (a WTF-8 key) as a JSON string literal, as JSON.stringify writes it:
-- quotes, two-character escapes, \u00XX for other control characters, \uXXXX for lone surrogates.
local function json_string_len(s)
  if not string.find(s, '[%z\1-\31"\\\237]') then
    return #s + 2
  end
  local _, short = string.gsub(s, '[\8\9\10\12\13"\\]', '')
  local _, long = string.gsub(s, '[%z\1-\7\11\14-\31]', '')
  local _, lone = string.gsub(s, '\237[\160-\191][\128-\191]', '')
  return #s + 2 + short + 5 * long + 3 * lone
end

-- The order field's value: each data key, in order, as `<length>:<bytes>`.
local function encode_order(keys)
  local parts = {}
  for i = 1, #keys do
    parts[i] = string.format('%d:', #keys[i]) .. keys[i]
  end
  return table.concat(parts)
end

-- The keys listed in an order field's value.
local function decode_order(text)
  local keys, pos = {}, 1
  while pos <= #text do
    local colon = string.find(text, ':', pos, true)
    if not colon then
      break
    end
    local len = tonumber(string.sub(text, pos, colon - 1))
    if not len then
      break
    end
    keys[#keys + 1] = string.sub(text, colon + 1, colon + len)
    pos = colon + len + 1
  end
  return keys
end

-- Redis keeps a small hash (a listpack) in insertion order, which is the order `get` must
-- return, but converts it for good into an unordered hashtable once it outgrows
-- hash-max-listpack-entries/-value. From then on the session keeps its key order in the order
-- field; a session that is still a listpack has none.
local function is_unordered(key)
  return redis.call('OBJECT', 'ENCODING', key) == 'hashtable'
end

-- Whether a hash field is one of the layout's own (the owner, creation time, deadline and order
-- fields: one byte from 0xF8, which never occurs in UTF-8) rather than a data key.
local function is_reserved(field)
  return #field == 1 and string.byte(field) >= 248
end

-- Writes a new session hash: the owner field and the reserved fields in `meta` (field, value,
-- …), then data fields args[first..] (field, value, …), then its expiry (ms; '0': none).
-- Returns 0 without writing when the key is taken (a token collision: the caller draws a new
-- token).
local function session_create(key, expiry, owner_field, owner, order_field, meta, args, first)
  if redis.call('EXISTS', key) == 1 then
    return 0
  end
  redis.call('HSET', key, owner_field, owner, unpack(meta))
  -- Chunks keep unpack() below Lua's stack limit.
  for i = first, #args, 200 do
    redis.call('HSET', key, unpack(args, i, math.min(i + 199, #args)))
  end
  if #args >= first and is_unordered(key) then
    local keys = {}
    for i = first, #args, 2 do
      if not is_reserved(args[i]) then
        keys[#keys + 1] = args[i]
      end
    end
    redis.call('HSET', key, order_field, encode_order(keys))
  end
  if expiry ~= '0' then
    redis.call('PEXPIREAT', key, expiry)
  end
  return 1
end

-- Deletes a session, if it exists and (when `expected` is given) belongs to that owner. Returns
-- the escaped owner it had, or false.
local function session_take(key, owner_field, expected)
  local owner = redis.call('HGET', key, owner_field)
  if not owner or (expected and owner ~= expected) then
    return false
  end
  redis.call('DEL', key)
  return owner
end

-- Session management. Two more reserved hash fields (see src/keys.rs): the creation time and
-- the `maxAge` deadline, both ms since the epoch on the server's clock.

-- The expiry (ms as decimal text; '0': never) of a session given `duration` seconds from `now`
-- ('0': no duration), capped at `deadline` (ms text; false, nil or '0': none).
local function capped_expiry(now, duration, deadline)
  local expiry = false
  if tonumber(duration) > 0 then
    expiry = now + tonumber(duration) * 1000
  end
  local cap = deadline and tonumber(deadline) or 0
  if cap > 0 and (not expiry or cap < expiry) then
    expiry = cap
  end
  if not expiry then
    return '0'
  end
  return string.format('%d', expiry)
end

-- A key's absolute expiry in ms as decimal text ('0': it never expires), from its PTTL and `now`.
local function expiry_of(key, now)
  local pttl = redis.call('PTTL', key)
  if pttl < 0 then
    return '0'
  end
  return string.format('%d', now + pttl)
end

-- Keeps the `max` newest-created live sessions of `owner` listed in `index` and kills the
-- others, never `keep` (the session just created). Sessions without a creation time (written
-- before it was stored) count as the oldest; equal times are ordered by id. Members whose
-- session is gone or belongs to another owner leave the index too. Returns how many were killed.
local function evict_oldest(index, prefix, owner_field, owner, created_field, max, keep)
  local live, gone = {}, {}
  for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local f = redis.call('HMGET', prefix .. id, owner_field, created_field)
    if f[1] == owner then
      local created = tonumber(f[2]) or -1
      if id == keep then
        created = math.huge
      end
      live[#live + 1] = { id = id, created = created }
    else
      gone[#gone + 1] = id
    end
  end
  local extra = #live - max
  if extra > 0 then
    table.sort(live, function(a, b)
      if a.created ~= b.created then
        return a.created < b.created
      end
      return a.id < b.id
    end)
    for i = 1, extra do
      redis.call('DEL', prefix .. live[i].id)
      gone[#gone + 1] = live[i].id
    end
  else
    extra = 0
  end
  if #gone > 0 then
    index_remove(index, gone, 1, #gone)
  end
  return extra
end
