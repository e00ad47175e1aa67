-- Single server: gives a session a new remaining life, and its index entry the same, atomically.
-- KEYS[1] the session key
-- ARGV[1] the session id;  ARGV[2] duration in whole seconds (> 0)
-- ARGV[3] the owner field's name;  ARGV[4] the owner index key's prefix (the index key is this
--         prefix followed by the escaped owner stored in the session)
-- ARGV[5] the deadline field's name: a session created with maxAge never lives past it
-- Returns 1, or 0 when the session does not exist (or has expired).
local f = redis.call('HMGET', KEYS[1], ARGV[3], ARGV[5])
local owner = f[1]
if not owner then
  return 0
end
local now = now_ms()
local expiry = capped_expiry(now, ARGV[2], f[2])
-- The index first, as in create.lua.
index_add_until(ARGV[4] .. owner, ARGV[1], expiry, now)
redis.call('PEXPIREAT', KEYS[1], expiry)
return 1
