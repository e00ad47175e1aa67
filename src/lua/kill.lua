-- Single server: deletes a session, then its entry in its owner's index, atomically.
-- KEYS[1] the session key;  KEYS[2] this call's kill receipt key
-- ARGV[1] the session id;  ARGV[2] the owner field's name;  ARGV[3] the owner index key's prefix
-- ARGV[4] this call's nonce;  ARGV[5] the receipt's life in ms
-- ARGV[6] the escaped owner the session must belong to, or "" for any owner
-- Returns 1, or 0 when the session does not exist (or has expired), or belongs to another
-- owner than ARGV[6] (then it is left as it is).
local expected = false
if ARGV[6] ~= '' then
  expected = ARGV[6]
end
local owner = session_take(KEYS[1], ARGV[2], expected)
if not owner then
  -- The same call re-sent after its reply was lost with the connection: it did kill.
  if redis.call('GET', KEYS[2]) == ARGV[4] then
    return 1
  end
  return 0
end
index_remove(ARGV[3] .. owner, { ARGV[1] }, 1, 1)
-- A receipt for a possible re-send of this call; pcall: the kill stands even if it fails.
redis.pcall('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
return 1
