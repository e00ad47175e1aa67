-- Helpers shared by the scripts: src/scripts.rs prepends this file to each of them.

-- The server's clock in milliseconds. Scripts use the server's time, never the client's, so
-- that index scores and key expiries agree.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- An index score: a session's expiry in whole seconds, rounded up so that it never precedes
-- the session's own expiry (ms). Seconds fit listpack's 32-bit integer encoding, which keeps
-- every index entry 4 bytes smaller than milliseconds would.
local function index_score(expiry_ms)
  return string.format('%d', math.ceil(expiry_ms / 1000))
end

-- Keeps an owner index alive as long as its longest-lived member: EXPIREAT its highest score,
-- or PERSIST when a member never expires. An empty index no longer exists.
local function fit_index_ttl(index)
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')[2]
  if last == 'inf' then
    redis.call('PERSIST', index)
  elseif last then
    redis.call('EXPIREAT', index, last)
  end
end

-- Lists (or re-scores) a session in its owner's index with its expiry ('+inf': never),
-- dropping members whose sessions have expired, and refits the index's TTL.
local function index_put(index, id, expiry_ms, now_ms)
  local score = '+inf'
  if expiry_ms ~= '+inf' then
    score = index_score(expiry_ms)
  end
  -- A score below now (in seconds, with the milliseconds as decimals) belongs to a session that
  -- expired at or before its score, i.e. before now.
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. string.format('%.3f', now_ms / 1000))
  redis.call('ZADD', index, score, id)
  fit_index_ttl(index)
end

