-- Sessions and the failed-login throttle: revoked token ids (kept until the token expires)
-- and failure counters per scope, shared by every API process.
local session = require('kv_api.session').check
local watchers = require('kv_api.watchers')

local M = {}

-- A logout revokes its token and ends that token's watches at once.
function M.kv_logout(uid, ver, jti, expires_at)
    if session(uid, ver, jti) == nil then return false end
    box.space.kv_revoked_tokens:replace{jti, uid, expires_at}
    watchers.wake(uid)
    return true
end

-- Forgets up to `batch` revoked tokens that have expired anyway; the count removed.
function M.kv_purge_revoked(now, batch)
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
end

-- Check and count a login attempt in one step (no yield in between), so parallel guesses cannot
-- all pass the check before any of them is counted. Returns the seconds to wait, 0 to go ahead.
function M.kv_login_attempt(scopes, now, window, max_failures)
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
end

-- A successful attempt: its username starts afresh, and it does not count for the others.
function M.kv_login_succeeded(reset_scope, other_scopes)
    local space = box.space.kv_login_failures
    box.atomic(function()
        space:delete(reset_scope)
        for _, scope in ipairs(other_scopes) do
            local t = space:get(scope)
            if t ~= nil and t[3] > 0 then space:update(scope, {{'-', 3, 1}}) end
        end
    end)
    return true
end

-- Failed-login counters expire: up to `batch` whose window started before `older_than` go,
-- found through their window_start index without scanning the space.
function M.kv_purge_login_failures(older_than, batch)
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

return M
