-- The change log: every change of a user's keys advances that user's revision (kv_revisions:
-- owner, revision, changes kept, newest revision compacted) and is logged in kv_changes, one
-- tuple per revision part: [owner, revision, part, at, {{key, op, version}...}].
local ffi = require('ffi')
local bytes = require('kv_api.msgpack_bytes')

local C, put = bytes.C, bytes.put
local M = {}

-- A revision's entries are split into parts that stay well under the tuple size limit.
M.PART = 500

-- The user's revision and the newest revision purged from the log (0, 0 before any change).
function M.revision(uid)
    local r = box.space.kv_revisions:get(uid)
    if r == nil then return 0, 0 end
    return r[2], r[4]
end

-- The number of entries of a log part.
function M.entries(t) return bytes.array_count(t, 4) end

-- The user's revision moves on by one for `count` new changes; the oldest parts beyond `keep`
-- changes are trimmed, a few per call (the purge does the rest).
function M.advance(uid, r, count, keep)
    local revisions, changes = box.space.kv_revisions, box.space.kv_changes
    local rev = (r and r[2] or 0) + 1
    local kept = (r and r[3] or 0) + count
    local compacted = r and r[4] or 0
    local trimmed = 0
    while kept > keep and trimmed < 8 do
        local oldest = changes.index.primary:min({uid})
        if oldest == nil or oldest[2] >= rev then break end
        changes:delete({uid, oldest[2], oldest[3]})
        kept, compacted, trimmed = kept - M.entries(oldest), math.max(compacted, oldest[2]), trimmed + 1
    end
    revisions:replace{uid, rev, kept, compacted}
    return rev
end

-- Inside a transaction: log the entries ({key, op, version} tables) under the user's next
-- revision; the revision reached.
function M.record(uid, entries, now, keep)
    local revisions, changes = box.space.kv_revisions, box.space.kv_changes
    local r = revisions:get(uid)
    if #entries == 0 then return r and r[2] or 0 end
    local rev = (r and r[2] or 0) + 1
    local part, i = 1, 1
    while i <= #entries do
        changes:insert{uid, rev, part, math.floor(now), {unpack(entries, i, math.min(i + M.PART - 1, #entries))}}
        part, i = part + 1, i + M.PART
    end
    return M.advance(uid, r, #entries, keep)
end

-- A change that frees memory (a delete) is logged inside its transaction when there is room,
-- else right after its commit, once the deleted tuples' memory is back. A failed attempt is
-- rolled back to its savepoint, so no part of it is committed with the delete.
-- M.record is looked up at each call, not kept in a local: tests replace it to fail once.
function M.try_record(uid, entries, now, keep)
    local point = box.savepoint()
    local ok, rev = pcall(M.record, uid, entries, now, keep)
    if ok then return rev end
    box.rollback_to_savepoint(point)
    return nil
end

-- Deleted tuples are freed only when Lua drops its references to them (the `old` locals of the
-- caller): on a full store that needs a collection before the entry fits.
function M.record_now(uid, entries, now, keep)
    local ok, rev = pcall(box.atomic, M.record, uid, entries, now, keep)
    if ok then return rev end
    collectgarbage('collect')
    return box.atomic(M.record, uid, entries, now, keep)
end

-- kv_write's log, built as MessagePack while it writes (a Lua table per entry cost more than
-- the write itself), in parts of M.PART entries inserted as they fill. One log is built at a
-- time: nothing yields between log_begin and log_end.
M.OP_PUT, M.OP_EXPIRE = '\163put', '\166expire'
local lbuf, lbuf_size = nil, 0
local L = {}

function M.log_begin(uid, now)
    L.r = box.space.kv_revisions:get(uid)
    L.uid, L.rev, L.at = uid, (L.r and L.r[2] or 0) + 1, math.floor(now)
    L.part, L.count, L.total, L.n, L.arr = 0, 0, 0, 0, 0
    return L
end

local function flush(log)
    if log.count == 0 then return end
    local q = lbuf
    q[log.arr + 1], q[log.arr + 2] = bit.rshift(log.count, 8), bit.band(log.count, 255)
    local p = ffi.cast('const char *', q)
    if C.box_insert(box.space.kv_changes.id, p, p + log.n, nil) ~= 0 then error(box.error.last()) end
    log.part, log.total, log.count, log.n = log.part + 1, log.total + log.count, 0, 0
end

-- key: a pointer to the key's MessagePack (len bytes); op: M.OP_PUT or M.OP_EXPIRE.
function M.log_add(log, key, len, op, version)
    local need = log.n + len + 32 + 64
    if need > lbuf_size then
        local size = math.max(need * 2, 64 * 1024)
        local grown = ffi.new('unsigned char[?]', size)
        if log.n > 0 then ffi.copy(grown, lbuf, log.n) end
        lbuf, lbuf_size = grown, size
    end
    local q, n = lbuf, log.n
    if log.count == 0 then  -- a new part: [owner, revision, part, at, entries]
        q[0] = 0x95
        n = put(q, put(q, put(q, put(q, 1, log.uid), log.rev), log.part + 1), log.at)
        q[n], log.arr = 0xdc, n  -- array16; its count is filled in on flush
        n = n + 3
    end
    q[n] = 0x93
    ffi.copy(q + n + 1, key, len)
    n = n + 1 + len
    ffi.copy(q + n, op, #op)
    log.n, log.count = put(q, n + #op, version), log.count + 1
    if log.count == M.PART then flush(log) end
end

-- The revision this write produced (the current one when nothing changed).
function M.log_end(log, keep)
    flush(log)
    if log.total == 0 then return log.rev - 1 end
    return M.advance(log.uid, log.r, log.total, keep)
end

return M
