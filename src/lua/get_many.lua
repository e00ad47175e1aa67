-- Single server: several gets in one round trip (the gets one burst of calls gathered).
-- KEYS the session keys
-- Returns, for each key in order, its HGETALL (empty when it does not exist), or, for a key
-- HGETALL refuses (not a hash), that error's text: each get settles alone, as if sent alone.
local replies = {}
for i, key in ipairs(KEYS) do
  local fields = redis.pcall('HGETALL', key)
  if fields.err then
    replies[i] = fields.err
  else
    replies[i] = fields
  end
end
return replies
