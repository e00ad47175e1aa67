-- Cluster step (one slot): deletes a session if it exists and, when asked, belongs to an owner.
-- KEYS[1] the session key;  KEYS[2] this call's kill receipt key, in the session key's slot
--         (absent while that slot is being migrated: see `take_step` in src/store/cluster.rs)
-- ARGV[1] the owner field's name
-- ARGV[2] "1" to require the owner ARGV[3] (escaped), "0" for any owner
-- ARGV[4] this call's nonce;  ARGV[5] the receipt's life in ms
-- Returns the escaped owner it had, or nil.
local expected = false
if ARGV[2] == '1' then
  expected = ARGV[3]
end
local owner = session_take(KEYS[1], ARGV[1], expected)
if owner then
  -- A receipt for a possible re-send of this call; pcall: the kill stands even if it fails.
  if KEYS[2] then
    redis.pcall('SET', KEYS[2], ARGV[4] .. owner, 'PX', ARGV[5])
  end
  return owner
end
if not KEYS[2] then
  return owner
end
-- The same call re-sent after its reply was lost with the connection: it did kill.
local receipt = redis.call('GET', KEYS[2])
if receipt and string.sub(receipt, 1, #ARGV[4]) == ARGV[4] then
  return string.sub(receipt, #ARGV[4] + 1)
end
return owner
