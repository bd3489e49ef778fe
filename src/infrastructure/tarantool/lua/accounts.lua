-- Accounts: kv_users tuples are [id, username, username_norm, password_hash, email,
-- first_name, last_name, created_at, updated_at, token_version]. A new password bumps the
-- token version, so every token issued before it fails the session check at once; it and a
-- deleted account wake the user's watchers, whose watches then end.
local fiber = require('fiber')
local changelog = require('kv_api.change_log')
local pair = require('kv_api.pair')
local session = require('kv_api.session').check
local watchers = require('kv_api.watchers')

local NULL = box.NULL
-- An absent optional field is stored as null: a Lua nil would leave a hole in the tuple.
local function opt(v) if v == nil then return NULL end return v end

-- Deleting an account logs the deletion of each of its keys under one revision, so its
-- watchers see them; the purge forgets the log and the revision later.
local function delete_user(uid)
    local data, now, entries, rev = box.space.kv_data, fiber.time(), {}, nil
    box.atomic(function()
        local doomed = {}
        for _, t in data:pairs({uid}, {iterator = 'EQ'}) do doomed[#doomed + 1] = t end
        for _, t in ipairs(doomed) do
            data:delete({uid, t[2]})
            if t[5] ~= nil then box.space.kv_expiry:delete({t[5], uid, t[2]}) end
            entries[#entries + 1] = {t[2], pair.live(t, now) and 'delete' or 'expire', pair.version(t)}
        end
        rev = changelog.try_record(uid, entries, now, math.huge)
        box.space.kv_users:delete(uid)
    end)
    if rev == nil then changelog.record_now(uid, entries, now, math.huge) end
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
