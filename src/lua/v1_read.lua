-- One key (any topology): reads a 1.x session key for the migration.
-- KEYS[1] the 1.x key
-- Returns { type } when it is not a string ('none': it no longer exists), else
-- { 'string', value, duration in seconds (0: never expires), pttl }.
local kind, value, duration, pttl = v1_read(KEYS[1])
if kind ~= 'string' then
  return { kind }
end
return { kind, value, duration, pttl }
