-- Single server: deletes a session, then its entry in its owner's index, atomically.
-- KEYS[1] the session key
-- ARGV[1] the session id;  ARGV[2] the owner field's name;  ARGV[3] the owner index key's prefix
-- Returns 1, or 0 when the session does not exist (or has expired).
local owner = session_take(KEYS[1], ARGV[2], false)
if not owner then
  return 0
end
index_remove(ARGV[3] .. owner, { ARGV[1] }, 1, 1)
return 1
