"""Deleting an account is immediate for every caller and stalls nobody: the account, its
tokens and its name are gone at once, and its data is purged in the background, a small
transaction at a time; its watchers end instead of replaying the purge."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.presentation import housekeeping
from tests.e2e.conftest import PASSWORD, Client, bearer, register
from tests.e2e.kv_helpers import write
from tests.e2e.watch_helpers import open_stream, poll, until_parked, user_id
from tests.support.waiting import until

KEYS = 20_000


async def _rows(store: TarantoolClient, uid: int) -> dict[str, int]:
    code = """
    local uid = ...
    return {box.space.kv_data.index.primary:count({uid}),
            box.space.kv_changes.index.primary:count({uid}), box.space.kv_revisions:count({uid})}
    """
    data, changes, revisions = await store.eval(code, [uid])
    return {"data": data, "changes": changes, "revisions": revisions}


async def _fill(api: Client, auth: dict[str, str]) -> None:
    for start in range(0, KEYS, 5000):
        await write(api, auth, {f"k{i:06d}": i for i in range(start, start + 5000)})


async def test_the_account_is_gone_at_once_and_its_data_later_in_small_steps(
    make_api: Callable[..., Awaitable[Client]],
    store: TarantoolClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(housekeeping, "PURGE_EVERY", 0.1)
    api = await make_api(account_purge_batch=1000)
    owner = await register(api)
    auth = bearer(owner["token"])
    uid = user_id(auth)
    await _fill(api, auth)
    other = bearer((await register(api))["token"])
    await write(api, other, {"mine": 1})

    started = time.monotonic()
    assert (await api.delete("/api/users/me", headers=auth)).status == 204
    assert time.monotonic() - started < 1.0
    assert (await api.get("/api/users/me", headers=auth)).status == 401
    login = {"username": owner["username"], "password": PASSWORD}
    assert (await api.post("/api/login", json=login)).status == 401
    again = await register(api, owner["username"])  # the name is free at once
    assert user_id(bearer(again["token"])) != uid
    read = await api.post("/api/read", json={"keys": ["k000001"]}, headers=bearer(again["token"]))
    assert (await read.json())["data"] == {}

    async def purged() -> bool:
        return await _rows(store, uid) == {"data": 0, "changes": 0, "revisions": 0}

    await until(purged, "the deleted account's data is purged", 60)
    read = await api.post("/api/read", json={"keys": ["mine"]}, headers=other)
    assert (await read.json())["data"] == {"mine": 1}


async def test_the_purge_takes_a_bounded_step_at_a_time(
    api: Client, store: TarantoolClient
) -> None:
    owner = await register(api)
    auth = bearer(owner["token"])
    uid = user_id(auth)
    await write(api, auth, {f"k{i:04d}": i for i in range(2500)})
    await write(api, auth, {"ttl-key": 1}, ttl=3600)
    code = "return box.space.kv_users:get(...) ~= nil"
    assert await store.eval(code, [uid]) is True
    # the same call the API makes, with the housekeeping task not yet run (its interval)
    assert (await api.delete("/api/users/me", headers=auth)).status == 204
    assert await store.eval(code, [uid]) is False
    steps = 0
    while (rows := await _rows(store, uid)) != {"data": 0, "changes": 0, "revisions": 0}:
        removed = await store.call("kv_purge_deleted_accounts", [500])
        assert 0 < removed <= 500, (removed, rows)
        steps += 1
    assert steps >= 6
    expiry = await store.eval("return box.space.kv_expiry.index.primary:select()", [])
    assert [row for row in expiry if row[1] == uid] == []


async def test_a_watcher_of_a_deleted_account_ends_without_the_purge(
    api: Client, store: TarantoolClient
) -> None:
    owner = await register(api)
    auth = bearer(owner["token"])
    written = await write(api, auth, {f"k{i}": i for i in range(50)})
    stream = await open_stream(api, auth, since=written["revision"], limit=1)
    waiting = asyncio.create_task(poll(api, auth, since=written["revision"], timeout=30))
    await until_parked(store, auth, 2)
    assert (await api.delete("/api/users/me", headers=auth)).status == 204
    end = await asyncio.wait_for(stream.next(), 10)
    assert end is not None
    assert (end["event"], end["data"]) == ("end", {"reason": "session_ended"})
    status, body = await asyncio.wait_for(waiting, 10)
    answer: Any = body
    assert status == 200 and answer["changes"] == []  # no delete of each key replayed
