-- Cluster step (one key): writes a rotated session under its new key (rotate's second half).
-- KEYS[1] the new session key;  ARGV[1] absolute expiry in ms ("0": none)
-- ARGV[2…] field, value, … (every field of the old session: owner, creation time, data, …)
-- Returns { KEYS[1], 1 }, or { KEYS[1], 0 } when the key is taken (a token collision).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return { KEYS[1], 0 }
end
for i = 2, #ARGV, 200 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 199, #ARGV)))
end
if ARGV[1] ~= '0' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
end
return { KEYS[1], 1 }
