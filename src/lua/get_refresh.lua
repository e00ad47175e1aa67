-- Single server: reads a session and gives it a new remaining life (as refresh.lua), atomically.
-- KEYS[1] the session key
-- ARGV[1] the session id;  ARGV[2] duration in whole seconds (> 0)
-- ARGV[3] the owner field's name;  ARGV[4] the owner index key's prefix
-- ARGV[5] the deadline field's name
-- Returns the session's HGETALL (empty when it does not exist).
local fields = redis.call('HGETALL', KEYS[1])
local owner, deadline = false, false
for i = 1, #fields, 2 do
  if fields[i] == ARGV[3] then
    owner = fields[i + 1]
  elseif fields[i] == ARGV[5] then
    deadline = fields[i + 1]
  end
end
if owner then
  local now = now_ms()
  local expiry = capped_expiry(now, ARGV[2], deadline)
  index_add_until(ARGV[4] .. owner, ARGV[1], expiry, now)
  redis.call('PEXPIREAT', KEYS[1], expiry)
end
-- Without an owner field the hash is malformed; the caller reports it.
return fields
