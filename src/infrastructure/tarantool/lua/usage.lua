-- Each user's usage and own limits: kv_usage tuples [owner, keys, bytes, max_keys, max_bytes].
-- keys and bytes are the user's kv_data tuples and the sum of their bsize(), changed in the
-- transaction of every write, delete and expiry that changes them, so they never drift.
-- An own limit is null (the server's default, which the caller passes), -1 (unlimited) or a
-- number. Deleting an account calls forget in its transaction.
local NULL = box.NULL
local M = {}
M.UNLIMITED = -1

-- The limit that applies: the user's own, else the default; nil is unlimited.
function M.limit(own, default)
    if own == nil then return default end  -- box.NULL == nil
    if own == M.UNLIMITED then return nil end
    return own
end

-- Inside a write's transaction: adds the change of the user's keys and bytes; or, when a
-- figure that grows would pass its limit, changes nothing and answers
-- {keys, bytes, keys after, bytes after, max_keys, max_bytes} (a limit nil: unlimited).
function M.add(uid, dkeys, dbytes, max_keys, max_bytes)
    if dkeys == 0 and dbytes == 0 then return nil end
    local space = box.space.kv_usage
    local u = space:get(uid)
    local keys, bytes, own_keys, own_bytes = 0, 0, NULL, NULL
    if u ~= nil then keys, bytes, own_keys, own_bytes = u[2], u[3], u[4], u[5] end
    local lk, lb = M.limit(own_keys, max_keys), M.limit(own_bytes, max_bytes)
    local nk, nb = keys + dkeys, bytes + dbytes
    if (dkeys > 0 and lk ~= nil and nk > lk) or (dbytes > 0 and lb ~= nil and nb > lb) then
        return {keys, bytes, nk, nb, lk or NULL, lb or NULL}  -- nil would end the array
    end
    space:replace{uid, nk, nb, own_keys, own_bytes}
    return nil
end

-- Inside a delete's or the purge's transaction: gives back what it freed. A user without a
-- row (an account being deleted) has nothing to give back.
function M.sub(uid, keys, bytes)
    if keys == 0 and bytes == 0 then return end
    box.space.kv_usage:update(uid, {{'-', 2, keys}, {'-', 3, bytes}})
end

-- Inside an account deletion's transaction: the user's row goes with the account.
function M.forget(uid)
    box.space.kv_usage:delete(uid)
end

-- {keys, bytes, own max_keys, own max_bytes} of a user (zeros and defaults before any write).
function M.standing(uid)
    local u = box.space.kv_usage:get(uid)
    if u == nil then return {0, 0, NULL, NULL} end
    return {u[2], u[3], u[4], u[5]}
end

return M
