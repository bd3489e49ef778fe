-- Quotas as the API shows and sets them: a user's usage with its own limits (kv_api.usage),
-- the operator's changes to those limits, and the counts of users near their limits.
local fiber = require('fiber')
local session = require('kv_api.session').check
local usage = require('kv_api.usage')

local NULL = box.NULL
local SCAN_CHUNK = 1000  -- rows a count reads between yields
local M = {}

-- GET /api/users/me: {the user's tuple, standing}; nil for an invalid session.
function M.kv_user_usage(uid, ver, jti)
    local user = session(uid, ver, jti)
    if user == nil then return nil end
    return {user, usage.standing(uid)}
end

-- The operator's view: {username, standing}; nil for an unknown user.
function M.kv_usage_by_name(norm)
    local user = box.space.kv_users.index.username:get(norm)
    if user == nil then return nil end
    return {user[2], usage.standing(user[1])}
end

-- Sets a user's own limits: changes holds {field, value} pairs (4: max_keys, 5: max_bytes;
-- value null, -1 or a number). Answers as kv_usage_by_name, after the change.
function M.kv_usage_set(norm, changes)
    local user = box.space.kv_users.index.username:get(norm)
    if user == nil then return nil end
    local uid, space = user[1], box.space.kv_usage
    local ops = {}
    for _, change in ipairs(changes) do ops[#ops + 1] = {'=', change[1], change[2]} end
    box.atomic(function()
        if space:get(uid) == nil then space:insert{uid, 0, 0, NULL, NULL} end
        if #ops > 0 then space:update(uid, ops) end
    end)
    return {user[2], usage.standing(uid)}
end

-- 0 when a figure is at its limit, 1 when at `near` per cent of it or more; nil otherwise.
local function level(used, own, default, near)
    local max = usage.limit(own, default)
    if max == nil then return nil end
    if used >= max then return 0 end
    if used * 100 >= max * near then return 1 end
    return nil
end

-- For the metrics: {users at a limit, users at `near` per cent of one or more (those at a
-- limit included)}, under the server's defaults. Reads the rows a chunk at a time, yielding
-- in between; rows of accounts already gone are not counted.
function M.kv_usage_near(max_keys, max_bytes, near)
    local space, users = box.space.kv_usage, box.space.kv_users
    local at, close, last = 0, 0, nil
    while true do
        local rows
        if last == nil then rows = space:select({}, {limit = SCAN_CHUNK})
        else rows = space:select({last}, {iterator = 'GT', limit = SCAN_CHUNK}) end
        for _, u in ipairs(rows) do
            if users:get(u[1]) ~= nil then
                local k, b = level(u[2], u[4], max_keys, near), level(u[3], u[5], max_bytes, near)
                if k == 0 or b == 0 then at = at + 1 end
                if k ~= nil or b ~= nil then close = close + 1 end
            end
        end
        if #rows < SCAN_CHUNK then break end
        last = rows[#rows][1]
        fiber.yield()
    end
    return {at, close}
end

return M
