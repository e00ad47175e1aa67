-- Cluster read: a session hash, with the key it was read from.
-- KEYS[1] the session key
-- Returns { key, HGETALL }. fred 10.1 can hand a reply to the wrong caller while it follows an
-- ASK redirection during a slot migration; the echoed key lets the store detect that and never
-- return another session's data.
return { KEYS[1], redis.call('HGETALL', KEYS[1]) }
