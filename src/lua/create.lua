-- Creates a session and lists it in its owner's index, in one atomic step.
-- KEYS[1]  the session key
-- KEYS[2]  the owner index key
-- ARGV[1]  the session id (index member)
-- ARGV[2]  duration in whole seconds; "0" means the session never expires
-- ARGV[3]  the owner field's name;  ARGV[4] the escaped owner
-- ARGV[5…] data field, value, field, value, …
-- Returns 1, or 0 when the session key is taken (a token collision: the caller draws again).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local now = now_ms()
local duration = tonumber(ARGV[2])
local expiry = '+inf'
if duration > 0 then
  expiry = string.format('%d', now + duration * 1000)
end

-- The index first: it must always over-approximate the live sessions.
index_put(KEYS[2], ARGV[1], expiry, now)

-- Then the session. Chunks keep unpack() below Lua's stack limit.
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
for i = 5, #ARGV, 200 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 199, #ARGV)))
end
if duration > 0 then
  redis.call('PEXPIREAT', KEYS[1], expiry)
end
return 1
