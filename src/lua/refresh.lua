-- Gives a session a new remaining life, and its index entry the same expiry, atomically.
-- KEYS[1]  the session key
-- ARGV[1]  the session id;  ARGV[2] duration in whole seconds (> 0)
-- ARGV[3]  the owner field's name;  ARGV[4] the owner index key's prefix (the index key is
--          this prefix followed by the escaped owner stored in the session)
-- Returns 1, or 0 when the session does not exist (or has expired).
local owner = redis.call('HGET', KEYS[1], ARGV[3])
if not owner then
  return 0
end
local index = ARGV[4] .. owner
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = string.format('%d', now + tonumber(ARGV[2]) * 1000)

-- The index first, as in create.lua.
redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. string.format('%d', now))
redis.call('ZADD', index, expiry, ARGV[1])
local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')[2]
if last == 'inf' then
  redis.call('PERSIST', index)
else
  redis.call('PEXPIREAT', index, last)
end

redis.call('PEXPIREAT', KEYS[1], expiry)
return 1
