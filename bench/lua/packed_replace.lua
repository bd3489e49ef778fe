-- The floor of a batch write, for the bench only: tuples packed whole by the client
-- ([owner, key, value, version, expires_at] as MessagePack), each handed to box_replace in one
-- transaction. No session check, lookup, version, expiry index, change log or quota.
local ffi = require('ffi')
pcall(ffi.cdef, 'int box_replace(uint32_t space_id, const char *tuple, const char *tuple_end, struct tuple **result);')
local C = ffi.C

return function(tuples)
    local sid = box.space.kv_data.id
    box.atomic(function()
        for _, t in ipairs(tuples) do
            local p = ffi.cast('const char *', t)
            if C.box_replace(sid, p, p + #t, nil) ~= 0 then error(box.error.last()) end
        end
    end)
    return #tuples
end
