-- Single server: moves a session to a new id (a new token), atomically. RENAME keeps every
-- field (owner, data, creation time, deadline) and the TTL; the new id takes the old id's place
-- (score) in the owner index.
-- KEYS[1] the old session key;  KEYS[2] the new session key
-- ARGV[1] the old id;  ARGV[2] the new id;  ARGV[3] the owner field's name
-- ARGV[4] the owner index key's prefix
-- Returns 1; 0 when the new key is taken (a token collision: the caller draws again); -1 when
-- the old session does not exist.
local owner = redis.call('HGET', KEYS[1], ARGV[3])
if not owner then
  return -1
end
if redis.call('RENAMENX', KEYS[1], KEYS[2]) == 0 then
  return 0
end
local index = ARGV[4] .. owner
local score = redis.call('ZSCORE', index, ARGV[1])
if not score then
  -- Not listed (the index was lost, e.g. evicted): list it by its own expiry.
  local expiry = expiry_of(KEYS[2], now_ms())
  score = '+inf'
  if expiry ~= '0' then
    score = index_score(tonumber(expiry))
  end
end
redis.call('ZADD', index, score, ARGV[2])
redis.call('ZREM', index, ARGV[1])
fit_index_ttl(index)
return 1
