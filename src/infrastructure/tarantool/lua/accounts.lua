-- Accounts: kv_users tuples are [id, username, username_norm, password_hash, email,
-- first_name, last_name, created_at, updated_at, token_version]. A new password bumps the
-- token version, so every token issued before it fails the session check at once; it and a
-- deleted account wake the user's watchers, whose watches then end.
local fiber = require('fiber')
local session = require('kv_api.session').check
local usage = require('kv_api.usage')
local watchers = require('kv_api.watchers')

local NULL = box.NULL
-- An absent optional field is stored as null: a Lua nil would leave a hole in the tuple.
local function opt(v) if v == nil then return NULL end return v end

-- An account is gone at once: every session check fails, its name is free, its watches end,
-- its usage row goes.
-- Its data is left to kv_purge_deleted_accounts, a small transaction at a time, unlogged:
-- however many keys it held, deleting it holds the transaction thread no longer than a write.
local function delete_user(uid)
    box.atomic(function()
        box.space.kv_users:delete(uid)
        box.space.kv_deleted_users:replace{uid, fiber.time()}
        usage.forget(uid)
    end)
    watchers.wake(uid)
    return true
end

local M = {}

-- nil when the (normalized) username is taken.
function M.kv_user_create(username, norm, hash, email, first, last, now)
    local users = box.space.kv_users
    if users.index.username:get(norm) ~= nil then return nil end
    return users:insert{NULL, username, norm, hash, opt(email), opt(first), opt(last), now, now, 0}
end

function M.kv_user_by_name(norm)
    return box.space.kv_users.index.username:get(norm)
end

function M.kv_user_session(uid, ver, jti)
    return session(uid, ver, jti)
end

-- The profile fields, and the password when hash is given; nil for an invalid session.
function M.kv_user_update(uid, ver, jti, email, first, last, hash, now)
    local user = session(uid, ver, jti)
    if user == nil then return nil end
    local ops = {{'=', 5, opt(email)}, {'=', 6, opt(first)}, {'=', 7, opt(last)}, {'=', 9, now}}
    if hash ~= nil then
        table.insert(ops, {'=', 4, hash})
        table.insert(ops, {'+', 10, 1})
    end
    user = box.space.kv_users:update(uid, ops)
    if hash ~= nil then watchers.wake(uid) end
    return user
end

-- A rehash of the same password at login: tokens stay valid.
function M.kv_user_set_hash(uid, hash)
    return box.space.kv_users:update(uid, {{'=', 4, hash}}) ~= nil
end

-- The operator's password reset (kv-api user set-password): the new hash and a bumped token
-- version in one update.
function M.kv_user_reset_password(norm, hash, now)
    local user = box.space.kv_users.index.username:get(norm)
    if user == nil then return false end
    box.space.kv_users:update(user[1], {{'=', 4, hash}, {'+', 10, 1}, {'=', 9, now}})
    watchers.wake(user[1])
    return true
end

function M.kv_user_delete(uid, ver, jti)
    if session(uid, ver, jti) == nil then return false end
    return delete_user(uid)
end

function M.kv_user_delete_by_name(norm)
    local user = box.space.kv_users.index.username:get(norm)
    if user == nil then return false end
    return delete_user(user[1])
end

-- Removes up to `batch` rows of the data of a deleted account (its pairs with their expiry
-- rows, then its change log; its revision and its entry last), in one short transaction.
-- Answers the rows removed: 0 when no deleted account has data left.
function M.kv_purge_deleted_accounts(batch)
    if box.info.ro then return 0 end
    local entry = box.space.kv_deleted_users.index.primary:min()
    if entry == nil then return 0 end
    local uid = entry[1]
    local data, changes = box.space.kv_data, box.space.kv_changes
    local stored, parts = {}, {}
    for _, t in data:pairs({uid}, {iterator = 'EQ'}) do
        if #stored >= batch then break end
        stored[#stored + 1] = {t[2], t[5]}
    end
    for _, t in changes.index.primary:pairs({uid}, {iterator = 'EQ'}) do
        if #stored + #parts >= batch then break end
        parts[#parts + 1] = {t[2], t[3]}
    end
    local finished = #stored + #parts < batch
    box.atomic(function()
        for _, p in ipairs(stored) do
            data:delete({uid, p[1]})
            if p[2] ~= nil then box.space.kv_expiry:delete({uid, p[1]}) end
        end
        for _, p in ipairs(parts) do changes:delete({uid, p[1], p[2]}) end
        if finished then
            box.space.kv_revisions:delete(uid)
            box.space.kv_deleted_users:delete(uid)
        end
    end)
    return #stored + #parts + (finished and 1 or 0)
end

-- The first `limit` usernames in normalized order.
function M.kv_user_list(limit)
    local names = {}
    for _, t in box.space.kv_users.index.username:pairs() do
        if #names >= limit then break end
        names[#names + 1] = t[2]
    end
    return names
end

return M
