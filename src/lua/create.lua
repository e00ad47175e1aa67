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
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local duration = tonumber(ARGV[2])
local expiry = '+inf'
if duration > 0 then
  expiry = string.format('%d', now + duration * 1000)
end

-- The index first (it must always over-approximate the live sessions), pruned of expired
-- members, and kept alive at least as long as its longest-lived session.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%d', now))
redis.call('ZADD', KEYS[2], expiry, ARGV[1])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')[2]
if last == 'inf' then
  redis.call('PERSIST', KEYS[2])
else
  redis.call('PEXPIREAT', KEYS[2], last)
end

-- Then the session. Chunks keep unpack() below Lua's stack limit.
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
for i = 5, #ARGV, 200 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 199, #ARGV)))
end
if duration > 0 then
  redis.call('PEXPIREAT', KEYS[1], expiry)
end
return 1
