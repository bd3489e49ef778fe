-- Versions, expiry and the change feed.
-- kv_data gains two nullable fields, so existing tuples stay as they are: a missing version
-- reads as 1 and a missing expires_at as "never". Every change of a user's keys advances that
-- user's revision (kv_revisions) and is logged in kv_changes, one tuple per revision part.
local data = box.space.kv_data
data:format({
    {name = 'owner', type = 'unsigned'},
    {name = 'key', type = 'string'},
    {name = 'value', type = 'any'},
    {name = 'version', type = 'unsigned', is_nullable = true},
    {name = 'expires_at', type = 'number', is_nullable = true},
})
-- Pairs with an expiry, in expiry order, for the purge. A space of their own rather than an
-- index on kv_data: 2.6 has no exclude_null, so such an index would hold every pair and cost
-- every write (docs/decisions/016).
local expiry = box.schema.space.create('kv_expiry', {
    if_not_exists = true,
    format = {
        {name = 'expires_at', type = 'number'},
        {name = 'owner', type = 'unsigned'},
        {name = 'key', type = 'string'},
    },
})
expiry:create_index('primary', {if_not_exists = true, parts = {'expires_at', 'owner', 'key'}})

local revisions = box.schema.space.create('kv_revisions', {
    if_not_exists = true,
    format = {
        {name = 'owner', type = 'unsigned'},
        {name = 'revision', type = 'unsigned'},
        {name = 'kept', type = 'unsigned'},       -- changes still in the log
        {name = 'compacted', type = 'unsigned'},  -- the newest revision purged from the log
    },
})
revisions:create_index('primary', {if_not_exists = true, parts = {'owner'}})

local changes = box.schema.space.create('kv_changes', {
    if_not_exists = true,
    format = {
        {name = 'owner', type = 'unsigned'},
        {name = 'revision', type = 'unsigned'},
        {name = 'part', type = 'unsigned'},
        {name = 'at', type = 'number'},
        {name = 'entries', type = 'array'},  -- {key, op, version} per changed key
    },
})
changes:create_index('primary', {if_not_exists = true, parts = {'owner', 'revision', 'part'}})
changes:create_index('at', {if_not_exists = true, unique = false, parts = {'at'}})

-- Shared helpers, built on first call like 004's. Writers wake the user's watchers after commit.
local prelude = [=[
    local H = rawget(_G, '__kv_helpers_v2')
    if H == nil then
        local ffi = require('ffi')
        local fiber = require('fiber')
        local msgpack = require('msgpack')
        pcall(ffi.cdef, 'int box_replace(uint32_t space_id, const char *tuple, const char *tuple_end, struct tuple **result);')
        pcall(ffi.cdef, 'int box_index_get(uint32_t space_id, uint32_t index_id, const char *key, const char *key_end, struct tuple **result);')
        pcall(ffi.cdef, 'const char *box_tuple_field(const struct tuple *tuple, uint32_t fieldno);')
        pcall(ffi.cdef, 'int box_insert(uint32_t space_id, const char *tuple, const char *tuple_end, struct tuple **result);')
        pcall(ffi.cdef, 'int box_delete(uint32_t space_id, uint32_t index_id, const char *key, const char *key_end, struct tuple **result);')
        H = {ffi = ffi, C = ffi.C, NULL = box.NULL, fiber = fiber, encode = msgpack.encode}
        local C = ffi.C
        -- A revision's entries are split into parts that stay well under the tuple size limit.
        H.PART = 500
        H.session = function(uid, ver, jti)
            local user = box.space.kv_users:get(uid)
            if user == nil or user[10] ~= ver then return nil end
            if box.space.kv_revoked_tokens:get(jti) ~= nil then return nil end
            return user
        end
        H.live = function(t, now)
            return t ~= nil and (t[5] == nil or t[5] > now)
        end
        H.version = function(t) return t[4] or 1 end
        -- Expected versions against current ones (0: absent or expired); nil when all hold.
        -- expected: {keys, versions}, two arrays (a loop over a map runs uncompiled).
        H.conflicts = function(uid, expected, now)
            local sid, found, q = box.space.kv_data.id, nil, nil
            local wanted = expected[2]
            for i, key in ipairs(expected[1]) do
                local want = wanted[i]
                q = H.kbuffer(#key + 16)
                q[0] = 0x92
                local n = H.put_str(q, H.put(q, 1, uid), key)
                local p = ffi.cast('const char *', q)
                if C.box_index_get(sid, 0, p, p + n, H.found) ~= 0 then error(box.error.last()) end
                local t, current = H.found[0], 0
                if t ~= nil then
                    local e = H.field(t, 4)
                    if e == nil or e > now then current = H.field(t, 3) or 1 end
                end
                if current ~= want then
                    found = found or {}
                    found[key] = {want, current}
                end
            end
            return found
        end
        -- kv_write's and kv_delete's answer when an expected version does not hold, else nil.
        H.refused = function(uid, expected, now)
            if expected == nil then return nil end
            local conflicts = H.conflicts(uid, expected, now)
            if conflicts == nil then return nil end
            return {'conflict', conflicts}
        end
        H.revision = function(uid)
            local r = box.space.kv_revisions:get(uid)
            if r == nil then return 0, 0 end
            return r[2], r[4]
        end
        -- Inside a transaction: log the entries under the user's next revision and trim the
        -- oldest revisions beyond `keep` changes (a few per call, the purge does the rest).
        H.record = function(uid, entries, now, keep)
            local revisions, changes = box.space.kv_revisions, box.space.kv_changes
            local r = revisions:get(uid)
            if #entries == 0 then return r and r[2] or 0 end
            local rev = (r and r[2] or 0) + 1
            local part, i = 1, 1
            while i <= #entries do
                changes:insert{uid, rev, part, math.floor(now), {unpack(entries, i, math.min(i + H.PART - 1, #entries))}}
                part, i = part + 1, i + H.PART
            end
            return H.advance(uid, r, #entries, keep)
        end
        -- The user's revision moves on by one for `count` new changes; the oldest parts beyond
        -- `keep` changes are trimmed, a few per call (the purge does the rest).
        H.advance = function(uid, r, count, keep)
            local revisions, changes = box.space.kv_revisions, box.space.kv_changes
            local rev = (r and r[2] or 0) + 1
            local kept = (r and r[3] or 0) + count
            local compacted = r and r[4] or 0
            local trimmed = 0
            while kept > keep and trimmed < 8 do
                local oldest = changes.index.primary:min({uid})
                if oldest == nil or oldest[2] >= rev then break end
                changes:delete({uid, oldest[2], oldest[3]})
                kept, compacted, trimmed = kept - H.entries(oldest), math.max(compacted, oldest[2]), trimmed + 1
            end
            revisions:replace{uid, rev, kept, compacted}
            return rev
        end
        -- A change that frees memory (a delete) is logged inside its transaction when there is
        -- room, else right after its commit, once the deleted tuples' memory is back. A failed
        -- attempt is rolled back to its savepoint, so no part of it is committed with the delete.
        H.try_record = function(uid, entries, now, keep)
            local point = box.savepoint()
            local ok, rev = pcall(H.record, uid, entries, now, keep)
            if ok then return rev end
            box.rollback_to_savepoint(point)
            return nil
        end
        -- Deleted tuples are freed only when Lua drops its references to them (the `old` locals
        -- of the caller): on a full store that needs a collection before the entry fits.
        H.record_now = function(uid, entries, now, keep)
            local ok, rev = pcall(box.atomic, H.record, uid, entries, now, keep)
            if ok then return rev end
            collectgarbage('collect')
            return box.atomic(H.record, uid, entries, now, keep)
        end
        -- Writes may not take the last free memory: on a full store logins, logouts and the
        -- change-log entries of deletes still need new tuples of their own sizes. The memory any
        -- tuple size can still use is the quota minus the slabs held by tuple sizes and by index
        -- extents (whole 16 MiB arena slabs). Below the reserve a write may only reuse room its
        -- size already holds (as after a delete). box.slab.info() costs about 10 us: a store far
        -- from full is checked at most every 10 ms (see docs/decisions/015).
        H.ARENA_SLAB, H.RESERVE_MIN, H.FAR = 16 * 1024 * 1024, 4 * 1024 * 1024, 64 * 1024 * 1024
        H.checked, H.far = 0, false
        H.room = function()
            local s = box.slab.info()
            local index = math.ceil((s.arena_used - s.items_used) / H.ARENA_SLAB) * H.ARENA_SLAB
            return s.quota_size - s.items_size - index, math.max(H.RESERVE_MIN, s.quota_size / 100)
        end
        -- Before a write: nil when far from full, else the room left.
        H.room_before = function()
            local clock = fiber.clock()
            if H.far and clock - H.checked < 0.01 then return nil end
            local room, reserve = H.room()
            H.checked, H.far = clock, room > reserve + H.FAR
            if H.far then return nil end
            return room
        end
        H.check_reserve = function(before)
            local room, reserve = H.room()
            if room < reserve and room < before then
                box.error(box.error.MEMORY_ISSUE, before - room, 'the reserve', 'a write')
            end
        end
        -- The write path works on MessagePack bytes through the C API, which LuaJIT compiles:
        -- Lua tuple objects and string building per pair cost several times more.
        H.found = ffi.new('struct tuple *[1]')
        H.buf, H.buf_size = nil, 0
        H.buffer = function(size)
            if size > H.buf_size then
                H.buf_size = math.max(size, 64 * 1024)
                H.buf = ffi.new('unsigned char[?]', H.buf_size)
            end
            return H.buf
        end
        -- Bytes of a MessagePack string of n bytes, header included.
        H.strlen = function(n)
            if n < 32 then return 1 + n elseif n < 256 then return 2 + n elseif n < 65536 then return 3 + n end
            return 5 + n
        end
        -- A field of a stored tuple: nil when absent or null; unsigned integers decoded inline.
        H.field = function(tuple, fieldno)
            local p = C.box_tuple_field(tuple, fieldno)
            if p == nil then return nil end
            local b = ffi.cast('const unsigned char *', p)
            local h = b[0]
            if h < 0x80 then return h end
            if h == 0xc0 then return nil end
            if h == 0xcc then return b[1] end
            if h == 0xcd then return b[1] * 256 + b[2] end
            if h == 0xce then return ((b[1] * 256 + b[2]) * 256 + b[3]) * 256 + b[4] end
            return (msgpack.decode_unchecked(p))
        end
        -- Appends an unsigned integer (or nil) at q[n]; the index after it.
        H.put = function(q, n, v)
            if v == nil then q[n] = 0xc0 return n + 1 end
            if v < 0x80 then q[n] = v return n + 1 end
            if v < 0x100 then q[n], q[n + 1] = 0xcc, v return n + 2 end
            if v < 0x10000 then
                q[n], q[n + 1], q[n + 2] = 0xcd, bit.rshift(v, 8), bit.band(v, 255)
                return n + 3
            end
            if v < 0x100000000 then
                q[n], q[n + 1] = 0xce, bit.band(bit.rshift(v, 24), 255)
                q[n + 2], q[n + 3], q[n + 4] = bit.band(bit.rshift(v, 16), 255), bit.band(bit.rshift(v, 8), 255), bit.band(v, 255)
                return n + 5
            end
            local packed = msgpack.encode(v)
            ffi.copy(q + n, packed, #packed)
            return n + #packed
        end
        H.kbuf, H.kbuf_size = nil, 0
        H.kbuffer = function(size)
            if size > H.kbuf_size then
                H.kbuf_size = math.max(size, 4096)
                H.kbuf = ffi.new('unsigned char[?]', H.kbuf_size)
            end
            return H.kbuf
        end
        -- Appends a MessagePack string at q[n]; the index after it.
        H.put_str = function(q, n, text)
            local len = #text
            if len < 32 then q[n] = 0xa0 + len n = n + 1
            elseif len < 256 then q[n], q[n + 1] = 0xd9, len n = n + 2
            elseif len < 65536 then q[n], q[n + 1], q[n + 2] = 0xda, bit.rshift(len, 8), bit.band(len, 255) n = n + 3
            else
                q[n], q[n + 1], q[n + 2] = 0xdb, bit.band(bit.rshift(len, 24), 255), bit.band(bit.rshift(len, 16), 255)
                q[n + 3], q[n + 4] = bit.band(bit.rshift(len, 8), 255), bit.band(len, 255)
                n = n + 5
            end
            ffi.copy(q + n, text, len)
            return n + len
        end
        -- kv_write's change log, built as MessagePack while it writes (a Lua table per entry
        -- cost more than the write itself), in parts of H.PART entries flushed as they fill.
        H.OP_PUT, H.OP_EXPIRE = '\163put', '\166expire'
        H.lbuf, H.lbuf_size = nil, 0
        H.log = {}
        H.log_begin = function(uid, now)
            local L = H.log
            L.r = box.space.kv_revisions:get(uid)
            L.uid, L.rev, L.at = uid, (L.r and L.r[2] or 0) + 1, math.floor(now)
            L.part, L.count, L.total, L.n, L.arr = 0, 0, 0, 0, 0
            return L
        end
        -- key: a pointer to the key's MessagePack (len bytes); op: H.OP_PUT or H.OP_EXPIRE.
        H.log_add = function(L, key, len, op, version)
            local need = L.n + len + 32 + 64
            if need > H.lbuf_size then
                local size = math.max(need * 2, 64 * 1024)
                local grown = ffi.new('unsigned char[?]', size)
                if L.n > 0 then ffi.copy(grown, H.lbuf, L.n) end
                H.lbuf, H.lbuf_size = grown, size
            end
            local q, n = H.lbuf, L.n
            if L.count == 0 then  -- a new part: [owner, revision, part, at, entries]
                q[0] = 0x95
                n = H.put(q, H.put(q, H.put(q, H.put(q, 1, L.uid), L.rev), L.part + 1), L.at)
                q[n], L.arr = 0xdc, n  -- array16; its count is filled in on flush
                n = n + 3
            end
            q[n] = 0x93
            ffi.copy(q + n + 1, key, len)
            n = n + 1 + len
            ffi.copy(q + n, op, #op)
            L.n, L.count = H.put(q, n + #op, version), L.count + 1
            if L.count == H.PART then H.log_flush(L) end
        end
        H.log_flush = function(L)
            if L.count == 0 then return end
            local q = H.lbuf
            q[L.arr + 1], q[L.arr + 2] = bit.rshift(L.count, 8), bit.band(L.count, 255)
            local p = ffi.cast('const char *', q)
            if C.box_insert(box.space.kv_changes.id, p, p + L.n, nil) ~= 0 then error(box.error.last()) end
            L.part, L.total, L.count, L.n = L.part + 1, L.total + L.count, 0, 0
        end
        -- The revision this write produced (the current one when nothing changed).
        H.log_end = function(L, keep)
            H.log_flush(L)
            if L.total == 0 then return L.rev - 1 end
            return H.advance(L.uid, L.r, L.total, keep)
        end
        -- [expires_at, owner, key] of kv_expiry at H.kbuf; the key's MessagePack at `key`.
        H.expiry_row = function(expires_at, uid, key, len)
            local q = H.kbuffer(len + 32)
            q[0] = 0x93
            local n = H.put(q, H.put(q, 1, expires_at), uid)
            ffi.copy(q + n, key, len)
            local p = ffi.cast('const char *', q)
            return p, p + n + len
        end
        -- The number of entries of a change-log part, read from its array header: t[5] would
        -- build a Lua table of them all.
        H.entries = function(t)
            local b = ffi.cast('const unsigned char *', C.box_tuple_field(t, 4))
            local h = b[0]
            if h >= 0x90 and h <= 0x9f then return h - 0x90 end
            if h == 0xdc then return b[1] * 256 + b[2] end
            return ((b[1] * 256 + b[2]) * 256 + b[3]) * 256 + b[4]  -- 0xdd
        end
        H.waiters = {}
        H.wake = function(uid)
            local w = H.waiters[uid]
            if w ~= nil then w.cond:broadcast() end
        end
        H.wait = function(uid, timeout)
            local w = H.waiters[uid]
            if w == nil then
                w = {cond = fiber.cond(), n = 0}
                H.waiters[uid] = w
            end
            w.n = w.n + 1
            w.cond:wait(timeout)
            w.n = w.n - 1
            if w.n == 0 and H.waiters[uid] == w then H.waiters[uid] = nil end
        end
        rawset(_G, '__kv_helpers_v2', H)
    end
    local ffi, C, NULL, fiber, session = H.ffi, H.C, H.NULL, H.fiber, H.session
]=]

local function define(name, params, body)
    local source = 'function(' .. params .. ')\n' .. prelude .. body .. '\nend'
    if box.func[name] ~= nil then box.schema.func.drop(name) end
    box.schema.func.create(name, {body = source})
end

-- tuples: each [owner, key, value] as MessagePack with a 5-field array header; the version and
-- expires_at are appended here, as only this transaction knows the version.
-- Answers {written, skipped indexes, revision} or {'conflict', {key = {expected, current}}}.
define('kv_write', 'uid, ver, jti, insert_only, keys, tuples, ttl, ttls, expected, keep', [=[
    if session(uid, ver, jti) == nil then return nil end
    local now = fiber.time()
    local refused = H.refused(uid, expected, now)
    if refused ~= nil then return refused end
    local sid, expiry_id, found, put = box.space.kv_data.id, box.space.kv_expiry.id, H.found, H.put
    local skipped, rev, room = {}, nil, H.room_before()
    local head = 1 + #H.encode(uid)  -- the array header and the owner
    box.atomic(function()
        local log = H.log_begin(uid, now)
        for i, raw in ipairs(tuples) do
            local key = keys[i]
            local size, klen = #raw, H.strlen(#key)
            local buf = H.buffer(size + 20)
            local r = ffi.cast('const char *', raw)
            -- The lookup key [owner, key] is the head of the tuple under a 2-element header.
            ffi.copy(buf, r, head + klen)
            buf[0] = 0x92
            local p = ffi.cast('const char *', buf)
            if C.box_index_get(sid, 0, p, p + head + klen, found) ~= 0 then error(box.error.last()) end
            local old, version, old_expiry, live = found[0], nil, nil, false
            if old ~= nil then
                version, old_expiry = H.field(old, 3) or 1, H.field(old, 4)
                live = old_expiry == nil or old_expiry > now
            end
            if live and insert_only then
                skipped[#skipped + 1] = i
            else
                if old ~= nil and not live then H.log_add(log, r + head, klen, H.OP_EXPIRE, version) end
                if old_expiry ~= nil then
                    local e, e_end = H.expiry_row(old_expiry, uid, r + head, klen)
                    if C.box_delete(expiry_id, 0, e, e_end, nil) ~= 0 then error(box.error.last()) end
                end
                version = live and version + 1 or 1
                local seconds = ttls ~= nil and ttls[key] or ttl
                local expires_at = seconds ~= nil and math.ceil(now + seconds) or nil
                buf = H.buffer(size + 20)
                p = ffi.cast('const char *', buf)
                ffi.copy(buf, r, size)
                local n = put(buf, put(buf, size, version), expires_at)
                if C.box_replace(sid, p, p + n, nil) ~= 0 then error(box.error.last()) end
                if expires_at ~= nil then
                    local e, e_end = H.expiry_row(expires_at, uid, r + head, klen)
                    if C.box_replace(expiry_id, e, e_end, nil) ~= 0 then error(box.error.last()) end
                end
                H.log_add(log, r + head, klen, H.OP_PUT, version)
            end
        end
        rev = H.log_end(log, keep)
        if room ~= nil then H.check_reserve(room) end
    end)
    H.wake(uid)
    return {#tuples - #skipped, skipped, rev}
]=])

-- Returns the live tuples found, or only the byte count reached once they add up to more than
-- max_bytes: a response is never larger than that, however many big values were asked for.
define('kv_read', 'uid, ver, jti, keys, max_bytes', [=[
    if session(uid, ver, jti) == nil then return nil end
    local index, now = box.space.kv_data.index.primary, fiber.time()
    local found, total = {}, 0
    for _, key in ipairs(keys) do
        local t = index:get({uid, key})
        if t ~= nil and (t[5] == nil or t[5] > now) then
            total = total + t:bsize()
            if total > max_bytes then return total end
            found[#found + 1] = t
        end
    end
    return found
]=])

-- Answers {deleted, revision} or {'conflict', ...} as kv_write. An expired pair is not counted;
-- removing it logs its expiry.
define('kv_delete', 'uid, ver, jti, keys, expected, keep', [=[
    if session(uid, ver, jti) == nil then return nil end
    local now = fiber.time()
    local refused = H.refused(uid, expected, now)
    if refused ~= nil then return refused end
    local data = box.space.kv_data
    local entries, deleted, rev = {}, 0, nil
    box.atomic(function()
        for _, key in ipairs(keys) do
            local old = data:delete({uid, key})
            if old ~= nil then
                if old[5] ~= nil then box.space.kv_expiry:delete({old[5], uid, key}) end
                local live = H.live(old, now)
                if live then deleted = deleted + 1 end
                entries[#entries + 1] = {key, live and 'delete' or 'expire', H.version(old)}
            end
        end
        rev = H.try_record(uid, entries, now, keep)
    end)
    if rev == nil then rev = H.record_now(uid, entries, now, keep) end
    H.wake(uid)
    return {deleted, rev}
]=])

define('kv_keys', 'uid, ver, jti, prefix, after, limit', [=[
    if session(uid, ver, jti) == nil then return nil end
    local start, iterator = prefix, 'GE'
    if after ~= nil and after >= prefix then start, iterator = after, 'GT' end
    local keys, now = {}, fiber.time()
    for _, t in box.space.kv_data.index.primary:pairs({uid, start}, {iterator = iterator}) do
        if t[1] ~= uid or t[2]:sub(1, #prefix) ~= prefix or #keys > limit then break end
        if t[5] == nil or t[5] > now then keys[#keys + 1] = t[2] end
    end
    return keys
]=])

-- Removes up to `batch` expired pairs in one short transaction, logging each as expired.
define('kv_purge_expired', 'batch, keep', [=[
    if box.info.ro then return 0 end
    local data, expiry, now = box.space.kv_data, box.space.kv_expiry, fiber.time()
    local found = {}
    for _, e in expiry:pairs({}, {iterator = 'GE'}) do
        if e[1] > now or #found >= batch then break end
        found[#found + 1] = e
    end
    if #found == 0 then return 0 end
    local owners, unlogged, purged = {}, {}, 0
    box.atomic(function()
        for _, e in ipairs(found) do
            local uid, key = e[2], e[3]
            expiry:delete({e[1], uid, key})
            local t = data:get({uid, key})
            if t ~= nil and t[5] == e[1] then
                data:delete({uid, key})
                local entries = owners[uid] or {}
                owners[uid] = entries
                entries[#entries + 1] = {key, 'expire', H.version(t)}
                purged = purged + 1
            end
        end
        for uid, entries in pairs(owners) do
            if H.try_record(uid, entries, now, keep) == nil then unlogged[uid] = entries end
        end
    end)
    for uid, entries in pairs(unlogged) do H.record_now(uid, entries, now, keep) end
    for uid in pairs(owners) do H.wake(uid) end
    return purged
]=])

-- Removes up to `batch` change-log parts older than `cutoff` (oldest first) and forgets the
-- revisions of deleted users once their log is empty. Answers the number of changes removed.
define('kv_purge_changes', 'cutoff, batch', [=[
    if box.info.ro then return 0 end
    local changes, revisions = box.space.kv_changes, box.space.kv_revisions
    local found = {}
    for _, t in changes.index.at:pairs({}, {iterator = 'GE'}) do
        if t[4] >= cutoff or #found >= batch then break end
        found[#found + 1] = t
    end
    local removed = 0
    box.atomic(function()
        for _, t in ipairs(found) do
            changes:delete({t[1], t[2], t[3]})
            local count = H.entries(t)
            removed = removed + count
            local r = revisions:get(t[1])
            if r ~= nil then
                local kept = math.max(0, r[3] - count)
                if kept == 0 and box.space.kv_users:get(t[1]) == nil then
                    revisions:delete(t[1])
                else
                    revisions:replace{t[1], r[2], kept, math.max(r[4], t[2])}
                end
            end
        end
    end)
    return removed
]=])

-- The changes after `since` matching `prefix`, oldest first, whole revisions only: at most
-- `limit` unless one revision holds more. Waits up to `timeout` seconds for one if none yet.
-- One pass examines about SCAN logged changes (whole revisions): a prefix matching nothing
-- must not hold the transaction thread for the whole log; having passed over that many
-- without a match it answers at once, empty, with the revision reached.
-- Answers {'changes', {{key, op, version, revision, value?}...}, revision, ended} (ended: the
-- session stopped being valid while waiting, after the changes listed),
-- {'compacted', oldest since still answerable, revision} or nil for an invalid session.
define('kv_watch', 'uid, ver, jti, prefix, since, limit, timeout, with_values', [=[
    if session(uid, ver, jti) == nil then return nil end
    local SCAN = 2000
    local deadline = fiber.clock() + timeout
    local changes, data = box.space.kv_changes, box.space.kv_data.index.primary
    local found, scanned, waited = {}, since, false
    while true do
        local rev, compacted = H.revision(uid)
        if since < compacted then return {'compacted', compacted, rev} end
        if scanned > rev then scanned = rev end
        local now, current, budget = fiber.time(), nil, SCAN
        for _, t in changes.index.primary:pairs({uid, scanned}, {iterator = 'GT'}) do
            if t[1] ~= uid then break end
            if t[2] ~= current then
                if #found >= limit or budget <= 0 then break end
                if current ~= nil then scanned = current end
                current = t[2]
            end
            budget = budget - #t[5]
            for _, e in ipairs(t[5]) do
                local key = e[1]
                if key:sub(1, #prefix) == prefix then
                    local change = {key, e[2], e[3], t[2]}
                    if with_values and e[2] == 'put' then
                        local pair = data:get({uid, key})
                        if pair ~= nil and H.version(pair) == e[3] and H.live(pair, now) then change[5] = pair[3] end
                    end
                    found[#found + 1] = change
                end
            end
        end
        if current ~= nil then scanned = current end
        -- Changes made before the session ended (an account's deletion) are still answered.
        local ended = waited and session(uid, ver, jti) == nil
        local left = deadline - fiber.clock()
        if #found > 0 or left <= 0 or ended or (budget <= 0 and scanned < rev) then
            return {'changes', found, scanned, ended}
        end
        H.wait(uid, left)
        waited = true
    end
]=])

-- The account functions of 004 and 006, now also waking the user's watchers: a logout, a new
-- password or a deleted account ends the watches of the tokens it invalidates at once.
define('kv_logout', 'uid, ver, jti, expires_at', [=[
    if session(uid, ver, jti) == nil then return false end
    box.space.kv_revoked_tokens:replace{jti, uid, expires_at}
    H.wake(uid)
    return true
]=])

define('kv_user_update', 'uid, ver, jti, email, first, last, hash, now', [=[
    local user = session(uid, ver, jti)
    if user == nil then return nil end
    local opt = function(v) if v == nil then return NULL end return v end
    local ops = {{'=', 5, opt(email)}, {'=', 6, opt(first)}, {'=', 7, opt(last)}, {'=', 9, now}}
    if hash ~= nil then
        table.insert(ops, {'=', 4, hash})
        table.insert(ops, {'+', 10, 1})
    end
    user = box.space.kv_users:update(uid, ops)
    if hash ~= nil then H.wake(uid) end
    return user
]=])

define('kv_user_reset_password', 'norm, hash, now', [=[
    local user = box.space.kv_users.index.username:get(norm)
    if user == nil then return false end
    box.space.kv_users:update(user[1], {{'=', 4, hash}, {'+', 10, 1}, {'=', 9, now}})
    H.wake(user[1])
    return true
]=])

-- Deleting an account logs the deletion of each of its keys under one revision, so its
-- watchers see them; the purge forgets the log and the revision later.
local delete_user_body = [=[
    local data, now, entries, rev = box.space.kv_data, fiber.time(), {}, nil
    box.atomic(function()
        local doomed = {}
        for _, t in data:pairs({uid}, {iterator = 'EQ'}) do doomed[#doomed + 1] = t end
        for _, t in ipairs(doomed) do
            data:delete({uid, t[2]})
            if t[5] ~= nil then box.space.kv_expiry:delete({t[5], uid, t[2]}) end
            entries[#entries + 1] = {t[2], H.live(t, now) and 'delete' or 'expire', H.version(t)}
        end
        rev = H.try_record(uid, entries, now, math.huge)
        box.space.kv_users:delete(uid)
    end)
    if rev == nil then H.record_now(uid, entries, now, math.huge) end
    H.wake(uid)
    return true
]=]

define('kv_user_delete', 'uid, ver, jti', [=[
    if session(uid, ver, jti) == nil then return false end
]=] .. delete_user_body)

define('kv_user_delete_by_name', 'norm', [=[
    local user = box.space.kv_users.index.username:get(norm)
    if user == nil then return false end
    local uid = user[1]
]=] .. delete_user_body)
