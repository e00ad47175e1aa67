-- Single server: gives a session a new remaining life, and its index entry the same, atomically.
-- KEYS[1] the session key
-- ARGV[1] the session id;  ARGV[2] duration in whole seconds (> 0)
-- ARGV[3] the owner field's name;  ARGV[4] the owner index key's prefix (the index key is this
--         prefix followed by the escaped owner stored in the session)
-- Returns 1, or 0 when the session does not exist (or has expired).
local owner = redis.call('HGET', KEYS[1], ARGV[3])
if not owner then
  return 0
end
-- The index first, as in create.lua.
local expiry = index_add(ARGV[4] .. owner, ARGV[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], expiry)
return 1
