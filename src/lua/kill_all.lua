-- Single server: deletes every session listed in an owner's index, then the index, atomically.
-- KEYS[1] the owner index key
-- ARGV[1] the session key prefix (a session key is this prefix followed by the id)
-- ARGV[2] the owner field's name;  ARGV[3] the escaped owner (a listed session is deleted only if
--         it does belong to this owner)
-- Returns the number of sessions that existed and were deleted.
local killed = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if session_take(ARGV[1] .. id, ARGV[2], ARGV[3]) then
    killed = killed + 1
  end
end
redis.call('DEL', KEYS[1])
return killed
