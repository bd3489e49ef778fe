-- The write path works on MessagePack bytes through the C API, which LuaJIT compiles: Lua
-- tuple objects and string building per pair cost several times more. These are its buffers
-- and the encoders and decoders of the few MessagePack forms it needs.
local ffi = require('ffi')
local msgpack = require('msgpack')

-- pcall: a second load of this module (new code) must not fail on declarations already made
pcall(ffi.cdef, 'int box_replace(uint32_t space_id, const char *tuple, const char *tuple_end, struct tuple **result);')
pcall(ffi.cdef, 'int box_index_get(uint32_t space_id, uint32_t index_id, const char *key, const char *key_end, struct tuple **result);')
pcall(ffi.cdef, 'const char *box_tuple_field(const struct tuple *tuple, uint32_t fieldno);')
pcall(ffi.cdef, 'int box_insert(uint32_t space_id, const char *tuple, const char *tuple_end, struct tuple **result);')
pcall(ffi.cdef, 'int box_delete(uint32_t space_id, uint32_t index_id, const char *key, const char *key_end, struct tuple **result);')
pcall(ffi.cdef, 'size_t box_tuple_bsize(const struct tuple *tuple);')

local C = ffi.C
local M = {C = C}

-- The tuple a box_index_get found.
M.found = ffi.new('struct tuple *[1]')

-- One buffer for the tuples of a write and one for the keys of lookups: grown, never shrunk,
-- and reused by every call (nothing yields while one is in use).
local buf, buf_size = nil, 0
function M.buffer(size)
    if size > buf_size then
        buf_size = math.max(size, 64 * 1024)
        buf = ffi.new('unsigned char[?]', buf_size)
    end
    return buf
end

local kbuf, kbuf_size = nil, 0
function M.kbuffer(size)
    if size > kbuf_size then
        kbuf_size = math.max(size, 4096)
        kbuf = ffi.new('unsigned char[?]', kbuf_size)
    end
    return kbuf
end

-- Bytes of a MessagePack string of n bytes, header included.
function M.strlen(n)
    if n < 32 then return 1 + n elseif n < 256 then return 2 + n elseif n < 65536 then return 3 + n end
    return 5 + n
end

-- Bytes of the MessagePack string at p, header included; nil for anything but a string.
function M.str_size(p)
    local b = ffi.cast('const unsigned char *', p)
    local h = b[0]
    if h >= 0xa0 and h <= 0xbf then return 1 + h - 0xa0 end  -- fixstr
    if h == 0xd9 then return 2 + b[1] end
    if h == 0xda then return 3 + b[1] * 256 + b[2] end
    if h == 0xdb then return 5 + ((b[1] * 256 + b[2]) * 256 + b[3]) * 256 + b[4] end
    return nil
end

-- The MessagePack string at p as a Lua string.
function M.str(p)
    local size = M.str_size(p)
    local h = ffi.cast('const unsigned char *', p)[0]
    local skip = h <= 0xbf and 1 or (h == 0xd9 and 2 or (h == 0xda and 3 or 5))
    return ffi.string(p + skip, size - skip)
end

-- A field of a stored tuple: nil when absent or null; unsigned integers decoded inline.
function M.field(tuple, fieldno)
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
function M.put(q, n, v)
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

-- Appends a MessagePack string at q[n]; the index after it.
function M.put_str(q, n, text)
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

-- The element count of the MessagePack array a field holds, read from its header: indexing
-- the field would build a Lua table of every element.
function M.array_count(tuple, fieldno)
    local b = ffi.cast('const unsigned char *', C.box_tuple_field(tuple, fieldno))
    local h = b[0]
    if h >= 0x90 and h <= 0x9f then return h - 0x90 end
    if h == 0xdc then return b[1] * 256 + b[2] end
    return ((b[1] * 256 + b[2]) * 256 + b[3]) * 256 + b[4]  -- 0xdd
end

return M
