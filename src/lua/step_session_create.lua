-- Cluster step (one key): writes a new session hash.
-- KEYS[1] the session key;  ARGV[1] absolute expiry in ms ("0": none)
-- ARGV[2] the owner field's name;  ARGV[3] the escaped owner;  ARGV[4] the order field's name
-- ARGV[5…] field, value, … (reserved fields, such as the creation time, may lead)
-- Returns 1, or 0 when the key is taken (token collision).
return session_create(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], {}, ARGV, 5)
