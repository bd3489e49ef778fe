-- The functions the API calls are global Lua functions, defined by the API at each start from
-- src/infrastructure/tarantool/lua/. A persistent function of the same name in _func would be
-- called instead, so the persistent ones that stores written by release 1.0 hold are dropped.
local names = {
    'kv_user_create', 'kv_user_by_name', 'kv_user_session', 'kv_user_update', 'kv_user_set_hash',
    'kv_user_delete', 'kv_user_delete_by_name', 'kv_user_list', 'kv_user_reset_password',
    'kv_logout', 'kv_purge_revoked', 'kv_login_attempt', 'kv_login_succeeded',
    'kv_purge_login_failures', 'kv_write', 'kv_read', 'kv_delete', 'kv_keys', 'kv_purge_expired',
    'kv_purge_changes', 'kv_watch',
}
for _, name in ipairs(names) do
    if box.func[name] ~= nil then box.schema.func.drop(name) end
end
