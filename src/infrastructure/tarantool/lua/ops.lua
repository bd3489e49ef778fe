-- Operations: the store's statistics for the metrics, and the start of a backup.
local fio = require('fio')
local fiber = require('fiber')

local M = {}

-- {arena used, arena size, quota used, quota size, pairs stored, seconds since the last
-- checkpoint (-1 when its file is not found)}. The last checkpoint's time is its .snap file's
-- mtime: box.info.gc() in 2.6 lists checkpoints by signature only.
function M.kv_store_stats()
    local slab = box.slab.info()
    local data = box.space.kv_data
    local age = -1
    local checkpoints = box.info.gc().checkpoints
    local last = checkpoints[#checkpoints]
    if last ~= nil then
        local name = string.format('%020d.snap', last.signature)
        local stat = fio.stat(fio.pathjoin(box.cfg.memtx_dir, name))
        if stat ~= nil then age = math.max(0, fiber.time() - stat.mtime) end
    end
    return {slab.arena_used, slab.arena_size, slab.quota_used, slab.quota_size,
            data ~= nil and data:len() or 0, age}
end

-- A fresh checkpoint holds every write acknowledged before it; box.backup.start() keeps its
-- files from garbage collection until box.backup.stop(). A checkpoint already running (the
-- shutdown or the interval one) is waited for and then taken again.
-- Answers {the files to copy, the migrations applied, the Tarantool version}.
function M.kv_backup_start()
    for _ = 1, 600 do
        local ok, err = pcall(box.snapshot)
        if ok then break end
        if not tostring(err):find('in progress') then error(err) end
        fiber.sleep(0.1)
    end
    local applied = {}
    if box.space.kv_schema_version ~= nil then
        for _, t in box.space.kv_schema_version:pairs() do applied[#applied + 1] = t[1] end
    end
    return {box.backup.start(), applied, box.info.version}
end

return M
