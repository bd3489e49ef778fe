-- Writes may not take the last free memory: on a full store logins, logouts and the change-log
-- entries of deletes still need new tuples of their own sizes. The memory any tuple size can
-- still use is the quota minus the slabs held by tuple sizes and by index extents (whole
-- 16 MiB arena slabs). Below the reserve a write may only reuse room its size already holds
-- (as after a delete). box.slab.info() costs about 10 us: a store far from full is checked at
-- most every 10 ms (see docs/decisions/011).
local fiber = require('fiber')

local ARENA_SLAB, RESERVE_MIN, FAR = 16 * 1024 * 1024, 4 * 1024 * 1024, 64 * 1024 * 1024
local M = {}
local checked, far = 0, false

-- The room left and the reserve.
local function room()
    local s = box.slab.info()
    local index = math.ceil((s.arena_used - s.items_used) / ARENA_SLAB) * ARENA_SLAB
    return s.quota_size - s.items_size - index, math.max(RESERVE_MIN, s.quota_size / 100)
end

-- Before a write: nil when far from full, else the room left.
function M.before()
    local clock = fiber.clock()
    if far and clock - checked < 0.01 then return nil end
    local left, reserve = room()
    checked, far = clock, left > reserve + FAR
    if far then return nil end
    return left
end

-- At the end of a write's transaction: refuses it (rolled back) when it took room from the
-- reserve that it did not free first.
function M.check(before)
    local left, reserve = room()
    if left < reserve and left < before then
        box.error(box.error.MEMORY_ISSUE, before - left, 'the reserve', 'a write')
    end
end

return M
