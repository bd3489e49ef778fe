"""How full the store is: memtx arena and quota, tuples in the data space, checkpoint age."""

from dataclasses import dataclass
from typing import Any, Protocol


class Caller(Protocol):
    async def call(self, function: str, args: list[Any]) -> Any: ...


@dataclass(frozen=True, slots=True)
class StoreStats:
    arena_used: int
    arena_size: int
    quota_used: int
    quota_size: int
    tuples: int
    checkpoint_age: float  # seconds; -1 when no checkpoint file is found


async def read_store_stats(conn: Caller) -> StoreStats:
    """kv_store_stats is in lua/ops.lua."""
    row = await conn.call("kv_store_stats", [])
    return StoreStats(
        int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]), float(row[5])
    )
