-- Cluster read (one key): a session's owner, expiry, creation time and (when asked) fields.
-- KEYS[1] the session key;  ARGV[1] the owner field's name;  ARGV[2] the creation time field's
-- name;  ARGV[3] "1" to include the fields
-- Returns { KEYS[1] } when the session does not exist, else { KEYS[1], owner, expiry, created,
-- fields } (owner escaped; expiry in ms since the epoch, "0": never; created "" when unknown;
-- fields the HGETALL, or {}). The echo lets the caller refuse a reply meant for another call
-- (a backstop: see MISMATCH_ATTEMPTS in src/store/cluster.rs).
local f = redis.call('HMGET', KEYS[1], ARGV[1], ARGV[2])
if not f[1] then
  return { KEYS[1] }
end
local expiry = expiry_of(KEYS[1], now_ms())
local fields = {}
if ARGV[3] == '1' then
  fields = redis.call('HGETALL', KEYS[1])
end
return { KEYS[1], f[1], expiry, f[2] or '', fields }
