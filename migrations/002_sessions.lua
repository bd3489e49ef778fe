-- Revoked token ids (until they expire) and login failure counters shared by all API processes.
local revoked = box.schema.space.create('kv_revoked_tokens', {
    if_not_exists = true,
    format = {
        {name = 'jti', type = 'string'},
        {name = 'user_id', type = 'unsigned'},
        {name = 'expires_at', type = 'unsigned'},
    },
})
revoked:create_index('primary', {if_not_exists = true, parts = {'jti'}})
revoked:create_index('expires_at', {if_not_exists = true, unique = false, parts = {'expires_at'}})

local failures = box.schema.space.create('kv_login_failures', {
    if_not_exists = true,
    format = {
        {name = 'scope', type = 'string'},
        {name = 'window_start', type = 'unsigned'},
        {name = 'failures', type = 'unsigned'},
    },
})
failures:create_index('primary', {if_not_exists = true, parts = {'scope'}})
