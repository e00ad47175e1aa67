-- Single server: converts one 1.x session key into the current layout, atomically.
-- KEYS[1] the 1.x key;  KEYS[2] the session key;  KEYS[3] the owner index key;
-- KEYS[4] the "migrated" marker key
-- ARGV[1] the 1.x value the caller read and split: the conversion applies only if the key still
--         holds exactly this (else 'changed', and the caller reads it again)
-- ARGV[2] the session id;  ARGV[3] the owner field's name;  ARGV[4] the escaped owner
-- ARGV[5] '1': dry run, write nothing;  ARGV[6] '1': delete the 1.x key (and its marker)
-- ARGV[7] the marker's grace period in seconds;  ARGV[8] the order field's name
-- ARGV[9…] field, value, … (the data)
-- Returns { status, deleted } — status 'migrated'; 'already' (converted by an earlier run, or
-- the session exists); 'gone' (the 1.x key no longer exists); 'changed'; 'wrongtype'.
-- deleted is 1 when the 1.x key was (dry run: would be) deleted.
local kind, value, duration, pttl = v1_read(KEYS[1])
if kind == 'none' then
  return { 'gone', 0 }
elseif kind ~= 'string' then
  return { 'wrongtype', 0 }
elseif value ~= ARGV[1] then
  return { 'changed', 0 }
end
local dry, delete_old = ARGV[5] == '1', ARGV[6] == '1'
local status = 'migrated'
-- The marker outlives the 1.x key: a session that 2.x killed after an earlier run converted it
-- is never brought back, and a session that 2.x has changed since is never overwritten.
if redis.call('EXISTS', KEYS[4]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  status = 'already'
end
local deleted = 0
if delete_old then
  deleted = 1
end
if dry then
  return { status, deleted }
end
if status == 'migrated' then
  -- What create.lua writes, the index first, then the session with the same expiry; but no
  -- creation time: 1.x never recorded one, so the session lists with createdAt null.
  local now = now_ms()
  local expiry = capped_expiry(now, duration, false)
  index_add_until(KEYS[3], ARGV[2], expiry, now)
  session_create(KEYS[2], expiry, ARGV[3], ARGV[4], ARGV[8], {}, ARGV, 9)
end
if delete_old then
  -- Without the 1.x key there is nothing a later run could convert again.
  redis.call('DEL', KEYS[1], KEYS[4])
else
  v1_mark(KEYS[4], pttl, ARGV[7])
end
return { status, deleted }
