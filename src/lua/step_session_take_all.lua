-- Cluster step (one key): deletes a session and returns everything it held (rotate's first half).
-- KEYS[1] the session key
-- Returns { KEYS[1] } when it does not exist, else { KEYS[1], expiry, fields } (expiry in ms
-- since the epoch, "0": never; fields the HGETALL).
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then
  return { KEYS[1] }
end
local pttl = redis.call('PTTL', KEYS[1])
local expiry = '0'
if pttl >= 0 then
  expiry = string.format('%d', now_ms() + pttl)
end
redis.call('DEL', KEYS[1])
return { KEYS[1], expiry, fields }
