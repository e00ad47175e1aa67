-- Cluster step (one key): writes or refits the "migrated" marker of a 1.x session.
-- KEYS[1] the marker key;  ARGV[1] the 1.x key's PTTL (-1: none);  ARGV[2] grace in seconds
v1_mark(KEYS[1], tonumber(ARGV[1]), ARGV[2])
return 1
