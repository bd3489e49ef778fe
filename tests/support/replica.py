"""A read-only Tarantool replica of a TarantoolProcess, with built-in asynchronous replication."""

import asyncio
from pathlib import Path

from kv_api.infrastructure.tarantool.client import TarantoolClient
from tests.support.tarantool import TarantoolProcess

# The replica joins first (users, grants and spaces all come from the primary; the API defines
# its Lua functions there when a call first misses one), and opens its client port only once
# box.cfg has finished the bootstrap.
REPLICA_LUA = """
local port, upstream = ...
box.cfg{
    replication = {upstream},
    read_only = true,
    memtx_memory = tonumber(os.getenv('KV_TT_MEMORY')),
    memtx_max_tuple_size = tonumber(os.getenv('KV_TT_TUPLE_SIZE')),
    log = 'tarantool.log',
    pid_file = 'tarantool.pid',
}
box.cfg{listen = '127.0.0.1:' .. port}
"""


class ReplicaProcess(TarantoolProcess):
    def __init__(self, work_dir: Path, primary: TarantoolProcess) -> None:
        super().__init__(work_dir)
        self.upstream = f"{primary.user}:{primary.password}@127.0.0.1:{primary.port}"

    def command(self) -> list[str]:
        script = self.work_dir / "replica.lua"
        script.write_text(REPLICA_LUA)
        return ["tarantool", str(script), str(self.port), self.upstream]


def connect(server: TarantoolProcess) -> TarantoolClient:
    return TarantoolClient(server.address, server.user, server.password, 5.0, 10.0)


async def set_upstream(replica: TarantoolClient, upstream: str | None) -> None:
    """Pause (None) or resume replication on a running replica."""
    await replica.eval("box.cfg{replication = {...}}", [] if upstream is None else [upstream])


async def wait_caught_up(
    primary: TarantoolClient, replica: TarantoolClient, timeout: float = 15.0
) -> None:
    """Until the replica has applied everything the primary had written when we asked."""
    primary_id, lsn = await primary.eval("return {box.info.id, box.info.lsn}", [])
    deadline = asyncio.get_running_loop().time() + timeout
    while await replica.eval("return box.info.vclock[...] or 0", [primary_id]) < lsn:
        assert asyncio.get_running_loop().time() < deadline, "the replica did not catch up"
        await asyncio.sleep(0.05)
