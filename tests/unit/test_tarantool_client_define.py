"""A call that finds its Lua function missing has the functions defined, once for all the calls
missing it together, and is made again once; without a definer it is unavailable as before."""

import asyncio
from typing import Any

import pytest
from asynctnt.exceptions import ErrorCode, TarantoolDatabaseError

from kv_api.application.errors import StorageUnavailable
from kv_api.infrastructure.settings import TarantoolAddress
from kv_api.infrastructure.tarantool.client import Definer, TarantoolClient


class _Response:
    def __init__(self, body: list[Any]) -> None:
        self.body = body


class _Store:
    """A connection whose functions exist once `defined` is set."""

    is_fully_connected = True

    def __init__(self) -> None:
        self.defined = False
        self.calls: list[str] = []

    async def call(self, function: str, args: list[Any]) -> _Response:
        self.calls.append(function)
        await asyncio.sleep(0)
        if not self.defined:
            message = f"Procedure '{function}' is not defined"
            raise TarantoolDatabaseError(ErrorCode.ER_NO_SUCH_PROC, message, None)
        return _Response([list(args)])


def _client(store: _Store, definer: Definer | None) -> TarantoolClient:
    client = TarantoolClient(TarantoolAddress("127.0.0.1", 9), None, None, 1.0, 1.0, definer)
    client._conn = store
    return client


async def test_calls_missing_their_function_together_share_one_definition() -> None:
    store, definitions = _Store(), []

    async def define(client: TarantoolClient) -> bool:
        definitions.append(client)
        await asyncio.sleep(0.01)
        store.defined = True
        return True

    client = _client(store, define)
    results = await asyncio.gather(*(client.call("kv_read", [n]) for n in range(10)))

    assert results == [[n] for n in range(10)]
    assert definitions == [client]
    assert len(store.calls) == 20  # each call: the miss, then its one retry


async def test_without_a_definer_or_when_it_declines_a_missing_function_is_unavailable() -> None:
    async def decline(client: TarantoolClient) -> bool:
        return False

    for definer in (None, decline):
        store = _Store()
        with pytest.raises(StorageUnavailable):
            await _client(store, definer).call("kv_read", [])
        assert store.calls == ["kv_read"]


async def test_a_function_still_missing_after_the_definition_is_tried_once_more_only() -> None:
    async def define_nothing(client: TarantoolClient) -> bool:
        return True

    store = _Store()
    with pytest.raises(StorageUnavailable):
        await _client(store, define_nothing).call("kv_read", [])
    assert store.calls == ["kv_read", "kv_read"]


async def test_a_caller_cancelled_while_waiting_leaves_the_definition_to_the_others() -> None:
    store, started = _Store(), asyncio.Event()

    async def define(client: TarantoolClient) -> bool:
        started.set()
        await asyncio.sleep(0.05)
        store.defined = True
        return True

    client = _client(store, define)
    first = asyncio.create_task(client.call("kv_read", [1]))
    second = asyncio.create_task(client.call("kv_read", [2]))
    await started.wait()
    first.cancel()

    assert await second == [2]
    assert first.cancelled()
