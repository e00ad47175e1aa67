-- Single server: creates a session and lists it in its owner's index, atomically.
-- KEYS[1] the session key;  KEYS[2] the owner index key
-- ARGV[1] the session id;  ARGV[2] duration in whole seconds ("0": never expires)
-- ARGV[3] the owner field's name;  ARGV[4] the escaped owner;  ARGV[5] the order field's name
-- ARGV[6…] field, value, …
-- Returns 1, or 0 when the session key is taken (a token collision: the caller draws again).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
-- The index first: it must always over-approximate the live sessions. Its ZADD is also the
-- script's first write, where Redis applies maxmemory (see index_add).
local expiry = index_add(KEYS[2], ARGV[1], ARGV[2])
return session_create(KEYS[1], expiry, ARGV[3], ARGV[4], ARGV[5], ARGV, 6)
