-- Failed-login counters expire: index them by window start so a periodic purge can drop the
-- ones whose window is over without scanning the space.
box.space.kv_login_failures:create_index('window_start', {
    if_not_exists = true, unique = false, parts = {'window_start'},
})

if box.func['kv_purge_login_failures'] ~= nil then box.schema.func.drop('kv_purge_login_failures') end
box.schema.func.create('kv_purge_login_failures', {body = [[
function(older_than, batch)
    local space = box.space.kv_login_failures
    local stale = {}
    for _, t in space.index.window_start:pairs({older_than}, {iterator = 'LT'}) do
        if #stale >= batch then break end
        stale[#stale + 1] = t[1]
    end
    box.atomic(function()
        for _, scope in ipairs(stale) do space:delete(scope) end
    end)
    return #stale
end
]]})
