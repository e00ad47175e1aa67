-- Deletes a session, then its entry in its owner's index, atomically.
-- KEYS[1]  the session key
-- ARGV[1]  the session id;  ARGV[2] the owner field's name;  ARGV[3] the owner index key's prefix
-- Returns 1, or 0 when the session does not exist (or has expired).
local owner = redis.call('HGET', KEYS[1], ARGV[2])
if not owner then
  return 0
end
redis.call('DEL', KEYS[1])
local index = ARGV[3] .. owner
redis.call('ZREM', index, ARGV[1])
-- The killed session may have been the one that kept the index alive (or alive forever).
fit_index_ttl(index)
return 1
