"""How full the store is: memtx arena and quota, tuples in the data space, checkpoint age."""

from dataclasses import dataclass
from typing import Any, Protocol

# The last checkpoint's time is its .snap file's mtime: box.info.gc() in 2.6 lists checkpoints
# by signature only.
_STATS = """
local fio = require('fio')
local slab = box.slab.info()
local data = box.space.kv_data
local age = -1
local checkpoints = box.info.gc().checkpoints
local last = checkpoints[#checkpoints]
if last ~= nil then
    local name = string.format('%020d.snap', last.signature)
    local stat = fio.stat(fio.pathjoin(box.cfg.memtx_dir, name))
    if stat ~= nil then age = math.max(0, require('fiber').time() - stat.mtime) end
end
return {slab.arena_used, slab.arena_size, slab.quota_used, slab.quota_size,
        data ~= nil and data:len() or 0, age}
"""


class Evaluator(Protocol):
    async def eval(self, code: str, args: list[Any]) -> Any: ...


@dataclass(frozen=True, slots=True)
class StoreStats:
    arena_used: int
    arena_size: int
    quota_used: int
    quota_size: int
    tuples: int
    checkpoint_age: float  # seconds; -1 when no checkpoint file is found


async def read_store_stats(conn: Evaluator) -> StoreStats:
    row = await conn.eval(_STATS, [])
    return StoreStats(
        int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]), float(row[5])
    )
