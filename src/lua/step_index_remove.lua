-- Cluster step (one key): removes session ids from an owner's index and refits its TTL.
-- KEYS[1] the owner index key;  ARGV[1…] the session ids
return index_remove(KEYS[1], ARGV, 1, #ARGV)
