-- The caller's session, checked by every data function in the same transaction as its work
-- (nothing yields between the check and the work): a token revoked, a password changed or an
-- account deleted by another call cannot slip in between.
local M = {}

-- The user's tuple while the session holds: the user exists, the token's version is the
-- user's current one and the token is not revoked. nil otherwise.
function M.check(uid, ver, jti)
    local user = box.space.kv_users:get(uid)
    if user == nil or user[10] ~= ver then return nil end
    if box.space.kv_revoked_tokens:get(jti) ~= nil then return nil end
    return user
end

return M
