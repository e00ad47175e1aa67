-- Cluster step (one key): lists or re-scores a session in its owner's index.
-- KEYS[1] the owner index key;  ARGV[1] the session id;  ARGV[2] duration in seconds ("0": never)
-- Returns the session's absolute expiry in ms ("0": never), for the session step.
return index_add(KEYS[1], ARGV[1], ARGV[2])
