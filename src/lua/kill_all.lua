-- Single server: deletes every session listed in an owner's index, then the index, atomically.
-- KEYS[1] the owner index key;  KEYS[2] this call's kill receipt key
-- ARGV[1] the session key prefix (a session key is this prefix followed by the id)
-- ARGV[2] the owner field's name;  ARGV[3] the escaped owner (a listed session is deleted only if
--         it does belong to this owner)
-- ARGV[4] the id of a session to keep ("": none): it stays, and stays listed with its score
-- ARGV[5] this call's nonce;  ARGV[6] the receipt's life in ms
-- Returns the number of sessions that existed and were deleted.
local killed, kept = 0, false
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if id == ARGV[4] then
    kept = redis.call('HGET', ARGV[1] .. id, ARGV[2]) == ARGV[3]
  elseif session_take(ARGV[1] .. id, ARGV[2], ARGV[3]) then
    killed = killed + 1
  end
end
local score = kept and redis.call('ZSCORE', KEYS[1], ARGV[4])
redis.call('DEL', KEYS[1])
if score then
  redis.call('ZADD', KEYS[1], score, ARGV[4])
  fit_index_ttl(KEYS[1])
end
if killed > 0 then
  -- A receipt for a possible re-send of this call; pcall: the kill stands even if it fails.
  redis.pcall('SET', KEYS[2], ARGV[5] .. killed, 'PX', ARGV[6])
else
  -- The same call re-sent after its reply was lost with the connection: report its kills.
  local receipt = redis.call('GET', KEYS[2])
  if receipt and string.sub(receipt, 1, #ARGV[5]) == ARGV[5] then
    return tonumber(string.sub(receipt, #ARGV[5] + 1))
  end
end
return killed
