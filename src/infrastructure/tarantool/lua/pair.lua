-- A stored pair: [owner, key, value, version, expires_at]. The last two fields are nullable so
-- that pairs stored before versions existed stay as they are: a missing version reads as 1
-- and a missing expires_at as "never".
local M = {}

function M.live(t, now)
    return t ~= nil and (t[5] == nil or t[5] > now)
end

function M.version(t) return t[4] or 1 end

return M
