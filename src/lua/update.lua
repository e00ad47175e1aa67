-- Merges fields into an existing session without touching its TTL, atomically.
-- KEYS[1]  the session key
-- ARGV[1]  n, the number of field/value pairs that follow
-- ARGV[2 … 2n+1]  field, value, … to set
-- ARGV[2n+2 …]    fields to delete
-- Returns 1, or 0 when the session does not exist (or has expired).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local last = 1 + 2 * tonumber(ARGV[1])
for i = 2, last, 200 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 199, last)))
end
for i = last + 1, #ARGV, 200 do
  redis.call('HDEL', KEYS[1], unpack(ARGV, i, math.min(i + 199, #ARGV)))
end
return 1
