-- Cluster step (one key): lists a rotated session's new id at the old id's place (score) in its
-- owner's index; the old id stays until the caller removes it, after the move.
-- KEYS[1] the owner index key;  ARGV[1] the old id;  ARGV[2] the new id
-- ARGV[3] the session's expiry in ms ("0": never), used when the old id is not listed
-- Returns { KEYS[1] } (the echo lets the caller refuse a reply meant for another call).
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then
  score = '+inf'
  if ARGV[3] ~= '0' then
    score = index_score(tonumber(ARGV[3]))
  end
end
redis.call('ZADD', KEYS[1], score, ARGV[2])
fit_index_ttl(KEYS[1])
return { KEYS[1] }
