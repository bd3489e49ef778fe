"""The watches waiting inside Tarantool: kv_watch calls parked on their user's fiber condition.

A test of what wakes or ends a watch (a write, a logout, a shutdown) must act once the watch is
parked there: a watch still on its way in would answer from the change log without ever
having waited, and the test would pass without exercising the wake-up."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from kv_api.infrastructure.tarantool.client import TarantoolClient
from tests.support.tarantool import TarantoolProcess
from tests.support.waiting import until

# waiters[uid].n is the count of kv_watch fibers waiting for that user (lua/watchers.lua).
_WAITING = (
    "local watchers = package.loaded['kv_api.watchers'] "
    "local w = watchers and watchers.waiters[...] return w and w.n or 0"
)


async def watches_waiting(store: TarantoolClient, user_id: int) -> int:
    return int(await store.eval(_WAITING, [user_id]))


async def until_watches_wait(
    store: TarantoolClient, user_id: int, count: int = 1, timeout: float = 15.0
) -> None:
    """Until exactly `count` watches of the user wait in Tarantool."""

    async def parked() -> bool:
        return await watches_waiting(store, user_id) == count

    await until(parked, f"{count} watch(es) of user {user_id} wait in Tarantool", timeout)


@asynccontextmanager
async def store_connection(server: TarantoolProcess) -> AsyncIterator[TarantoolClient]:
    """A connection of the test's own to `server`, to look inside it."""
    client = TarantoolClient(server.address, server.user, server.password, 5.0, 30.0)
    try:
        assert await client.wait_connected(10.0), "cannot connect to the test tarantool"
        yield client
    finally:
        await client.close()
