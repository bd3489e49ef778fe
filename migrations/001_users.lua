-- Accounts: one tuple per user; usernames unique case-insensitively via username_norm.
local users = box.schema.space.create('kv_users', {
    if_not_exists = true,
    format = {
        {name = 'id', type = 'unsigned'},
        {name = 'username', type = 'string'},
        {name = 'username_norm', type = 'string'},
        {name = 'password_hash', type = 'string'},
        {name = 'email', type = 'string', is_nullable = true},
        {name = 'first_name', type = 'string', is_nullable = true},
        {name = 'last_name', type = 'string', is_nullable = true},
        {name = 'created_at', type = 'number'},
        {name = 'updated_at', type = 'number'},
        {name = 'token_version', type = 'unsigned'},
    },
})
box.schema.sequence.create('kv_users_id', {if_not_exists = true})
users:create_index('primary', {
    if_not_exists = true, parts = {'id'}, sequence = 'kv_users_id',
})
users:create_index('username', {
    if_not_exists = true, unique = true, parts = {'username_norm'},
})
