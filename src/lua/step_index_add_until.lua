-- Cluster step (one key): lists or re-scores a session in its owner's index, with an expiry
-- capped by a maxAge deadline.
-- KEYS[1] the owner index key;  ARGV[1] the session id
-- ARGV[2] duration in whole seconds ("0": none);  ARGV[3] maxAge in whole seconds ("0": none;
-- a new session's deadline is now + maxAge);  ARGV[4] an existing deadline in ms ("0": none)
-- Returns { KEYS[1], expiry, now, deadline } (ms as decimal text; "0": never / none). The echoed
-- key lets the caller refuse a reply meant for another call (a backstop: see MISMATCH_ATTEMPTS in
-- src/store/cluster.rs).
local now = now_ms()
local deadline = ARGV[4]
if tonumber(ARGV[3]) > 0 then
  deadline = string.format('%d', now + tonumber(ARGV[3]) * 1000)
end
local expiry = capped_expiry(now, ARGV[2], deadline)
index_add_until(KEYS[1], ARGV[1], expiry, now)
return { KEYS[1], expiry, string.format('%d', now), deadline }
