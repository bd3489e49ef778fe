-- The operator's password reset (kv-api user set-password): the new hash and a bumped token
-- version in one update, so every token issued before it fails the session check at once.
if box.func['kv_user_reset_password'] ~= nil then box.schema.func.drop('kv_user_reset_password') end
box.schema.func.create('kv_user_reset_password', {body = [[
function(norm, hash, now)
    local user = box.space.kv_users.index.username:get(norm)
    if user == nil then return false end
    box.space.kv_users:update(user[1], {{'=', 4, hash}, {'+', 10, 1}, {'=', 9, now}})
    return true
end
]]})
