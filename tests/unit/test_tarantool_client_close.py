"""Closing a Tarantool connection is bounded: a shutdown never hangs on the driver."""

import asyncio

from kv_api.infrastructure.settings import TarantoolAddress
from kv_api.infrastructure.tarantool.client import TarantoolClient


class _NeverDisconnects:
    async def disconnect(self) -> None:
        await asyncio.Event().wait()  # connection_lost never comes


async def test_close_gives_up_on_a_disconnect_that_never_ends() -> None:
    client = TarantoolClient(TarantoolAddress("127.0.0.1", 9), None, None, 1.0, 1.0)
    client._conn = _NeverDisconnects()
    await asyncio.wait_for(client.close(timeout=0.05), 5.0)
