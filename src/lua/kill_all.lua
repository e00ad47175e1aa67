-- Single server: deletes every session listed in an owner's index, then the index, atomically.
-- KEYS[1] the owner index key
-- ARGV[1] the session key prefix (a session key is this prefix followed by the id)
-- ARGV[2] the owner field's name;  ARGV[3] the escaped owner (a listed session is deleted only if
--         it does belong to this owner)
-- KEYS[2] this call's kill receipt key;  ARGV[4] this call's nonce;  ARGV[5] the receipt's life
-- in ms
-- Returns the number of sessions that existed and were deleted.
local killed = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if session_take(ARGV[1] .. id, ARGV[2], ARGV[3]) then
    killed = killed + 1
  end
end
redis.call('DEL', KEYS[1])
if killed > 0 then
  -- A receipt for a possible re-send of this call; pcall: the kill stands even if it fails.
  redis.pcall('SET', KEYS[2], ARGV[4] .. killed, 'PX', ARGV[5])
else
  -- The same call re-sent after its reply was lost with the connection: report its kills.
  local receipt = redis.call('GET', KEYS[2])
  if receipt and string.sub(receipt, 1, #ARGV[4]) == ARGV[4] then
    return tonumber(string.sub(receipt, #ARGV[4] + 1))
  end
end
return killed
