-- Persistent Lua functions: every API operation is one call. Data functions check the
-- caller's session (user exists, token version matches, token not revoked) in the same
-- transaction as their work, and never yield inside box.atomic.
-- Shared helpers are built on first call and cached in a global: Tarantool loads persistent
-- function bodies without the global environment, which only exists when they run.
local prelude = [[
    local H = rawget(_G, '__kv_helpers_v1')
    if H == nil then
        local ffi = require('ffi')
        pcall(ffi.cdef, 'int box_replace(uint32_t space_id, const char *tuple, const char *tuple_end, struct tuple **result);')
        pcall(ffi.cdef, 'int box_insert(uint32_t space_id, const char *tuple, const char *tuple_end, struct tuple **result);')
        H = {ffi = ffi, C = ffi.C, NULL = box.NULL}
        H.opt = function(v) if v == nil then return box.NULL end return v end
        H.session = function(uid, ver, jti)
            local user = box.space.kv_users:get(uid)
            if user == nil or user[10] ~= ver then return nil end
            if box.space.kv_revoked_tokens:get(jti) ~= nil then return nil end
            return user
        end
        rawset(_G, '__kv_helpers_v1', H)
    end
    local ffi, C, NULL, opt, session = H.ffi, H.C, H.NULL, H.opt, H.session
]]

local function define(name, params, body)
    local source = 'function(' .. params .. ')\n' .. prelude .. body .. '\nend'
    if box.func[name] ~= nil then box.schema.func.drop(name) end
    box.schema.func.create(name, {body = source})
end

define('kv_user_create', 'username, norm, hash, email, first, last, now', [[
    local users = box.space.kv_users
    if users.index.username:get(norm) ~= nil then return nil end
    return users:insert{NULL, username, norm, hash, opt(email), opt(first), opt(last), now, now, 0}
]])

define('kv_user_by_name', 'norm', [[
    return box.space.kv_users.index.username:get(norm)
]])

define('kv_user_session', 'uid, ver, jti', [[
    return session(uid, ver, jti)
]])

define('kv_user_update', 'uid, ver, jti, email, first, last, hash, now', [[
    local user = session(uid, ver, jti)
    if user == nil then return nil end
    local ops = {{'=', 5, opt(email)}, {'=', 6, opt(first)}, {'=', 7, opt(last)}, {'=', 9, now}}
    if hash ~= nil then
        table.insert(ops, {'=', 4, hash})
        table.insert(ops, {'+', 10, 1})
    end
    return box.space.kv_users:update(uid, ops)
]])

define('kv_user_set_hash', 'uid, hash', [[
    return box.space.kv_users:update(uid, {{'=', 4, hash}}) ~= nil
]])

local delete_user_body = [[
    local data = box.space.kv_data
    box.atomic(function()
        local keys = {}
        for _, t in data:pairs({uid}, {iterator = 'EQ'}) do keys[#keys + 1] = t[2] end
        for _, key in ipairs(keys) do data:delete({uid, key}) end
        box.space.kv_users:delete(uid)
    end)
    return true
]]

define('kv_user_delete', 'uid, ver, jti', [[
    if session(uid, ver, jti) == nil then return false end
]] .. delete_user_body)

define('kv_user_delete_by_name', 'norm', [[
    local user = box.space.kv_users.index.username:get(norm)
    if user == nil then return false end
    local uid = user[1]
]] .. delete_user_body)

define('kv_user_list', 'limit', [[
    local names = {}
    for _, t in box.space.kv_users.index.username:pairs() do
        if #names >= limit then break end
        names[#names + 1] = t[2]
    end
    return names
]])

define('kv_logout', 'uid, ver, jti, expires_at', [[
    if session(uid, ver, jti) == nil then return false end
    box.space.kv_revoked_tokens:replace{jti, uid, expires_at}
    return true
]])

define('kv_purge_revoked', 'now, batch', [[
    local space = box.space.kv_revoked_tokens
    local expired = {}
    for _, t in space.index.expires_at:pairs({now}, {iterator = 'LE'}) do
        if #expired >= batch then break end
        expired[#expired + 1] = t[1]
    end
    box.atomic(function()
        for _, jti in ipairs(expired) do space:delete(jti) end
    end)
    return #expired
]])

-- Check and count a login attempt in one step (no yield in between), so parallel guesses cannot
-- all pass the check before any of them is counted. Returns the seconds to wait, 0 to go ahead.
define('kv_login_attempt', 'scopes, now, window, max_failures', [[
    local space = box.space.kv_login_failures
    local wait = 0
    for _, scope in ipairs(scopes) do
        local t = space:get(scope)
        if t ~= nil and now - t[2] < window and t[3] >= max_failures then
            wait = math.max(wait, t[2] + window - now)
        end
    end
    if wait > 0 then return wait end
    box.atomic(function()
        for _, scope in ipairs(scopes) do
            local t = space:get(scope)
            if t == nil or now - t[2] >= window then
                space:replace{scope, now, 1}
            else
                space:update(scope, {{'+', 3, 1}})
            end
        end
    end)
    return 0
]])

-- A successful attempt: its username starts afresh, and it no longer counts for the others.
define('kv_login_succeeded', 'reset_scope, other_scopes', [[
    local space = box.space.kv_login_failures
    box.atomic(function()
        space:delete(reset_scope)
        for _, scope in ipairs(other_scopes) do
            local t = space:get(scope)
            if t ~= nil and t[3] > 0 then space:update(scope, {{'-', 3, 1}}) end
        end
    end)
    return true
]])

define('kv_write', 'uid, ver, jti, insert_only, tuples', [[
    if session(uid, ver, jti) == nil then return nil end
    local sid = box.space.kv_data.id
    local put = insert_only and C.box_insert or C.box_replace
    local skipped = {}
    box.atomic(function()
        for i, raw in ipairs(tuples) do
            local p = ffi.cast('const char *', raw)
            if put(sid, p, p + #raw, nil) ~= 0 then
                local err = box.error.last()
                if not insert_only or err.code ~= box.error.TUPLE_FOUND then error(err) end
                skipped[#skipped + 1] = i
            end
        end
    end)
    return {#tuples - #skipped, skipped}
]])

-- Returns the tuples found, or only the byte count reached once they add up to more than
-- max_bytes: a response is never larger than that, however many big values were asked for.
define('kv_read', 'uid, ver, jti, keys, max_bytes', [[
    if session(uid, ver, jti) == nil then return nil end
    local index = box.space.kv_data.index.primary
    local found, total = {}, 0
    for _, key in ipairs(keys) do
        local t = index:get({uid, key})
        if t ~= nil then
            total = total + t:bsize()
            if total > max_bytes then return total end
            found[#found + 1] = t
        end
    end
    return found
]])

define('kv_delete', 'uid, ver, jti, keys', [[
    if session(uid, ver, jti) == nil then return nil end
    local data = box.space.kv_data
    local deleted = 0
    box.atomic(function()
        for _, key in ipairs(keys) do
            if data:delete({uid, key}) ~= nil then deleted = deleted + 1 end
        end
    end)
    return deleted
]])

define('kv_keys', 'uid, ver, jti, prefix, after, limit', [[
    if session(uid, ver, jti) == nil then return nil end
    local start, iterator = prefix, 'GE'
    if after ~= nil and after >= prefix then start, iterator = after, 'GT' end
    local keys = {}
    for _, t in box.space.kv_data.index.primary:pairs({uid, start}, {iterator = iterator}) do
        if t[1] ~= uid or t[2]:sub(1, #prefix) ~= prefix or #keys > limit then break end
        keys[#keys + 1] = t[2]
    end
    return keys
]])
