-- Cluster step (one key): deletes a session if it exists and, when asked, belongs to an owner.
-- KEYS[1] the session key;  ARGV[1] the owner field's name
-- ARGV[2] "1" to require the owner ARGV[3] (escaped), "0" for any owner
-- Returns the escaped owner it had, or nil.
local expected = false
if ARGV[2] == '1' then
  expected = ARGV[3]
end
return session_take(KEYS[1], ARGV[1], expected)
