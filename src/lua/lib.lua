-- Helpers shared by the scripts: src/scripts.rs prepends this file to each of them.

-- The server's clock in milliseconds. Scripts use the server's time, never the client's, so
-- that index scores and key expiries agree.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Keeps an owner index alive exactly as long as its longest-lived member: PEXPIREAT its highest
-- score, or PERSIST when a member never expires. An empty index no longer exists.
local function fit_index_ttl(index)
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')[2]
  if last == 'inf' then
    redis.call('PERSIST', index)
  elseif last then
    redis.call('PEXPIREAT', index, last)
  end
end

-- Lists (or re-scores) a session in its owner's index with its expiry ('+inf': never),
-- dropping members that have already expired, and refits the index's TTL.
local function index_put(index, id, expiry, now)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. string.format('%d', now))
  redis.call('ZADD', index, expiry, id)
  fit_index_ttl(index)
end

