-- The key-value batches: each call is one operation of the API, run in one box.atomic that
-- never yields inside, after the caller's session check (kv_api.session). Writers wake the
-- user's watchers after their commit.
local ffi = require('ffi')
local fiber = require('fiber')
local msgpack = require('msgpack')
local bytes = require('kv_api.msgpack_bytes')
local changelog = require('kv_api.change_log')
local pair = require('kv_api.pair')
local reserve = require('kv_api.reserve')
local session = require('kv_api.session').check
local usage = require('kv_api.usage')
local watchers = require('kv_api.watchers')

local C, put, field, found = bytes.C, bytes.put, bytes.field, bytes.found

-- Expected versions against current ones (0: absent or expired); nil when all hold.
-- expected: {keys, versions}, two arrays (a loop over a map runs uncompiled).
local function conflicts(uid, expected, now)
    local sid, clashes, q = box.space.kv_data.id, nil, nil
    local wanted = expected[2]
    for i, key in ipairs(expected[1]) do
        local want = wanted[i]
        q = bytes.kbuffer(#key + 16)
        q[0] = 0x92
        local n = bytes.put_str(q, put(q, 1, uid), key)
        local p = ffi.cast('const char *', q)
        if C.box_index_get(sid, 0, p, p + n, found) ~= 0 then error(box.error.last()) end
        local t, current = found[0], 0
        if t ~= nil then
            local e = field(t, 4)
            if e == nil or e > now then current = field(t, 3) or 1 end
        end
        if current ~= want then
            clashes = clashes or {}
            clashes[key] = {want, current}
        end
    end
    return clashes
end

-- kv_write's and kv_delete's answer when an expected version does not hold, else nil.
local function refused(uid, expected, now)
    if expected == nil then return nil end
    local clashes = conflicts(uid, expected, now)
    if clashes == nil then return nil end
    return {'conflict', clashes}
end

-- The expiry schedule, kv_expiry [expires_at, owner, key]: one row per pair that has an expiry,
-- found by (owner, key), due at or before that expiry. A rewrite that moves an expiry later
-- leaves the row, and the purge moves it when it comes due, so rewriting a key with a ttl
-- writes no row (docs/decisions/018).

-- The row [expires_at, owner, key] in the key buffer; the key's MessagePack at `key`.
local function expiry_row(expires_at, owner, key, len)
    local q = bytes.kbuffer(len + 32)
    q[0] = 0x93
    local n = put(q, 1, expires_at)
    ffi.copy(q + n, owner, #owner)
    ffi.copy(q + n + #owner, key, len)
    local p = ffi.cast('const char *', q)
    return p, p + n + #owner + len
end

-- The row's key [owner, key] in the key buffer.
local function expiry_key(owner, key, len)
    local q = bytes.kbuffer(len + 32)
    q[0] = 0x92
    ffi.copy(q + 1, owner, #owner)
    ffi.copy(q + 1 + #owner, key, len)
    local p = ffi.cast('const char *', q)
    return p, p + 1 + #owner + len
end

local M = {}

-- pairs: the batch as one MessagePack string, each pair the key then the value; sizes: each
-- pair's length in it. The stored tuple [owner, key, value, version, expires_at] is built
-- here, as only this transaction knows the version. max_keys and max_bytes: the server's
-- default quota (nil: unlimited), unless the user has limits of its own.
-- Answers {written, skipped indexes, revision}, {'conflict', {key = {expected, current}}} or
-- {'quota', {keys, bytes, keys after, bytes after, max_keys, max_bytes}} (nothing written).
function M.kv_write_pairs(uid, ver, jti, insert_only, sizes, pairs, ttl, ttls, expected, keep, max_keys, max_bytes)
    if session(uid, ver, jti) == nil then return nil end
    local now = fiber.time()
    local refusal = refused(uid, expected, now)
    if refusal ~= nil then return refusal end
    local sid, expiry_id = box.space.kv_data.id, box.space.kv_expiry.id
    local skipped, rev, room = {}, nil, reserve.before()
    local owner = msgpack.encode(uid)
    local head = 1 + #owner  -- the array header and the owner
    local src, total = ffi.cast('const char *', pairs), 0
    for i = 1, #sizes do total = total + sizes[i] end
    if total ~= #pairs then box.error(box.error.ILLEGAL_PARAMS, 'the sizes do not add up to the pairs') end
    box.begin()
    local ok, err = pcall(function()
        local log = changelog.log_begin(uid, now)
        local added, grown, at = 0, 0, 0  -- the user's keys and stored bytes this batch adds
        for i = 1, #sizes do
            local size = sizes[i]
            local buf = bytes.buffer(head + size + 20)
            local p = ffi.cast('const char *', buf)
            local key = p + head
            ffi.copy(buf + 1, owner, head - 1)
            ffi.copy(buf + head, src + at, size)
            at = at + size
            local klen = bytes.str_size(key)
            if klen == nil or klen >= size then box.error(box.error.ILLEGAL_PARAMS, 'a pair is not a key and a value') end
            -- The lookup key [owner, key] is the head of the tuple under a 2-element header.
            buf[0] = 0x92
            if C.box_index_get(sid, 0, p, key + klen, found) ~= 0 then error(box.error.last()) end
            buf[0] = 0x95
            local old, version, old_expiry, live = found[0], nil, nil, false
            if old ~= nil then
                version, old_expiry = field(old, 3) or 1, field(old, 4)
                live = old_expiry == nil or old_expiry > now
            end
            if live and insert_only then
                skipped[#skipped + 1] = i
            else
                if old ~= nil then
                    if not live then changelog.log_add(log, key, klen, changelog.OP_EXPIRE, version) end
                    grown = grown - tonumber(C.box_tuple_bsize(old))
                else
                    added = added + 1
                end
                version = live and version + 1 or 1
                local seconds = ttl
                if ttls ~= nil then seconds = ttls[bytes.str(key)] or ttl end
                local expires_at = seconds ~= nil and math.ceil(now + seconds) or nil
                local n = put(buf, put(buf, head + size, version), expires_at)
                if C.box_replace(sid, p, p + n, nil) ~= 0 then error(box.error.last()) end
                grown = grown + n  -- the stored tuple is these bytes as they are: its bsize
                if expires_at ~= nil then
                    if old_expiry == nil or expires_at < old_expiry then
                        local e, e_end = expiry_row(expires_at, owner, key, klen)
                        if C.box_replace(expiry_id, e, e_end, nil) ~= 0 then error(box.error.last()) end
                    end
                elseif old_expiry ~= nil then
                    local e, e_end = expiry_key(owner, key, klen)
                    if C.box_delete(expiry_id, 0, e, e_end, nil) ~= 0 then error(box.error.last()) end
                end
                changelog.log_add(log, key, klen, changelog.OP_PUT, version)
            end
        end
        refusal = usage.add(uid, added, grown, max_keys, max_bytes)
        if refusal ~= nil then return end
        rev = changelog.log_end(log, keep)
        if room ~= nil then reserve.check(room) end
    end)
    if not ok or refusal ~= nil then
        box.rollback()
        if not ok then error(err, 0) end
        return {'quota', refusal}
    end
    box.commit()
    watchers.wake(uid)
    return {#sizes - #skipped, skipped, rev}
end

-- Returns the live tuples found, or only the byte count reached once they add up to more than
-- max_bytes: a response is never larger than that, however many big values were asked for.
function M.kv_read(uid, ver, jti, keys, max_bytes)
    if session(uid, ver, jti) == nil then return nil end
    local index, now = box.space.kv_data.index.primary, fiber.time()
    local rows, total = {}, 0
    for _, key in ipairs(keys) do
        local t = index:get({uid, key})
        if t ~= nil and (t[5] == nil or t[5] > now) then
            total = total + t:bsize()
            if total > max_bytes then return total end
            rows[#rows + 1] = t
        end
    end
    return rows
end

-- Answers {deleted, revision} or {'conflict', ...} as kv_write. An expired pair is not counted;
-- removing it logs its expiry.
function M.kv_delete(uid, ver, jti, keys, expected, keep)
    if session(uid, ver, jti) == nil then return nil end
    local now = fiber.time()
    local refusal = refused(uid, expected, now)
    if refusal ~= nil then return refusal end
    local data = box.space.kv_data
    local entries, deleted, rev = {}, 0, nil
    box.atomic(function()
        local freed = 0
        for _, key in ipairs(keys) do
            local old = data:delete({uid, key})
            if old ~= nil then
                if old[5] ~= nil then box.space.kv_expiry:delete({uid, key}) end
                local live = pair.live(old, now)
                if live then deleted = deleted + 1 end
                entries[#entries + 1] = {key, live and 'delete' or 'expire', pair.version(old)}
                freed = freed + old:bsize()
            end
        end
        usage.sub(uid, #entries, freed)
        rev = changelog.try_record(uid, entries, now, keep)
    end)
    if rev == nil then rev = changelog.record_now(uid, entries, now, keep) end
    watchers.wake(uid)
    return {deleted, rev}
end

-- Up to limit + 1 live keys from `prefix` (after `after`): one more than a page tells the
-- caller there is a next one.
function M.kv_keys(uid, ver, jti, prefix, after, limit)
    if session(uid, ver, jti) == nil then return nil end
    local start, iterator = prefix, 'GE'
    if after ~= nil and after >= prefix then start, iterator = after, 'GT' end
    local keys, now = {}, fiber.time()
    for _, t in box.space.kv_data.index.primary:pairs({uid, start}, {iterator = iterator}) do
        if t[1] ~= uid or t[2]:sub(1, #prefix) ~= prefix or #keys > limit then break end
        if t[5] == nil or t[5] > now then keys[#keys + 1] = t[2] end
    end
    return keys
end

-- One short transaction over up to `batch` rows of the expiry schedule that are due: a pair
-- past its expiry is removed and logged as expired; a pair whose expiry moved later gets its
-- row moved there. Answers {pairs removed, rows handled}.
function M.kv_purge_expired(batch, keep)
    if box.info.ro then return {0, 0} end
    local data, expiry, now = box.space.kv_data, box.space.kv_expiry, fiber.time()
    local due = {}
    for _, e in expiry.index.due:pairs({}, {iterator = 'GE'}) do
        if e[1] > now or #due >= batch then break end
        due[#due + 1] = e
    end
    if #due == 0 then return {0, 0} end
    local owners, freed, unlogged, purged = {}, {}, {}, 0
    box.atomic(function()
        for _, e in ipairs(due) do
            local uid, key = e[2], e[3]
            local t = data:get({uid, key})
            local expires_at = t ~= nil and t[5] or nil
            if expires_at ~= nil and expires_at > now then
                expiry:replace{expires_at, uid, key}
            else
                expiry:delete({uid, key})
                if expires_at ~= nil then
                    data:delete({uid, key})
                    local entries = owners[uid] or {}
                    owners[uid] = entries
                    entries[#entries + 1] = {key, 'expire', pair.version(t)}
                    freed[uid] = (freed[uid] or 0) + t:bsize()
                    purged = purged + 1
                end
            end
        end
        for uid, entries in pairs(owners) do usage.sub(uid, #entries, freed[uid]) end
        for uid, entries in pairs(owners) do
            if changelog.try_record(uid, entries, now, keep) == nil then unlogged[uid] = entries end
        end
    end)
    for uid, entries in pairs(unlogged) do changelog.record_now(uid, entries, now, keep) end
    for uid in pairs(owners) do watchers.wake(uid) end
    return {purged, #due}
end

return M
