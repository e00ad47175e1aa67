-- Single server: creates a session and lists it in its owner's index, atomically; with
-- maxSessions, then kills that owner's oldest-created sessions beyond the limit, in the same step.
-- KEYS[1] the session key;  KEYS[2] the owner index key
-- ARGV[1] the session id;  ARGV[2] duration in whole seconds ("0": never expires)
-- ARGV[3] the owner field's name;  ARGV[4] the escaped owner;  ARGV[5] the order field's name
-- ARGV[6] the creation time field's name;  ARGV[7] the deadline field's name
-- ARGV[8] maxAge in whole seconds ("0": none);  ARGV[9] maxSessions ("0": no limit)
-- ARGV[10] the session key prefix (a session key is this prefix followed by the id)
-- ARGV[11…] field, value, …
-- Returns 1, or 0 when the session key is taken (a token collision: the caller draws again).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
-- One clock reading for the creation time, the deadline and the expiry, so that the expiry
-- never passes the deadline.
local now = now_ms()
local meta = { ARGV[6], string.format('%d', now) }
local deadline = false
if tonumber(ARGV[8]) > 0 then
  deadline = string.format('%d', now + tonumber(ARGV[8]) * 1000)
  meta[3], meta[4] = ARGV[7], deadline
end
local expiry = capped_expiry(now, ARGV[2], deadline)
-- The index first: it must always over-approximate the live sessions. Its ZADD is also the
-- script's first write, where Redis applies maxmemory (see index_add_until).
index_add_until(KEYS[2], ARGV[1], expiry, now)
session_create(KEYS[1], expiry, ARGV[3], ARGV[4], ARGV[5], meta, ARGV, 11)
if tonumber(ARGV[9]) > 0 then
  evict_oldest(KEYS[2], ARGV[10], ARGV[3], ARGV[4], ARGV[6], tonumber(ARGV[9]), ARGV[1])
end
return 1
