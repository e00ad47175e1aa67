-- Deletes every session listed in an owner's index, then the index, atomically.
-- KEYS[1]  the owner index key
-- ARGV[1]  the session key prefix (a session key is this prefix followed by the id)
-- Returns the number of sessions that existed and were deleted.
local killed = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  killed = killed + redis.call('DEL', ARGV[1] .. id)
end
redis.call('DEL', KEYS[1])
return killed
