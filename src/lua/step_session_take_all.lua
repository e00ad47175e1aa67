-- Cluster step (one key): deletes a session and returns everything it held (rotate's first half).
-- KEYS[1] the session key
-- Returns { KEYS[1] } when it does not exist, else { KEYS[1], expiry, fields } (expiry in ms
-- since the epoch, "0": never; fields the HGETALL).
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then
  return { KEYS[1] }
end
local expiry = expiry_of(KEYS[1], now_ms())
redis.call('DEL', KEYS[1])
return { KEYS[1], expiry, fields }
