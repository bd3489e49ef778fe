"""The change feed's promises across writers, expiry, accounts, retention and instances."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.presentation import housekeeping
from tests.e2e.conftest import Client, bearer, register
from tests.e2e.kv_helpers import error_code, write
from tests.e2e.watch_helpers import (
    changes_after,
    poll,
    until_parked,
    user_id,
)
from tests.support.waiting import until
from tests.support.watches import watches_waiting

WRITERS = 4
WRITES_EACH = 30


async def _collect(
    api: Client, auth: dict[str, str], since: int, until: int, limit: int
) -> list[dict[str, Any]]:
    """Loops `since = answer.revision` until `until` is reached, as a client does."""
    seen: list[dict[str, Any]] = []
    while since < until:
        status, body = await poll(api, auth, since=since, timeout=5, limit=limit)
        assert status == 200, body
        assert body["revision"] >= since
        seen += body["changes"]
        since = body["revision"]
    return seen


async def test_many_since_loops_under_concurrent_writers_see_every_change_once_in_order(
    api: Client, auth: dict[str, str]
) -> None:
    start = (await changes_after(api, auth, 0))["revision"]

    async def writer(n: int) -> list[int]:
        revisions = []
        for i in range(WRITES_EACH):
            body = await write(api, auth, {f"w{n}/a": i, f"w{n}/b": i})
            revisions.append(body["revision"])
        return revisions

    watcher = asyncio.create_task(
        _collect(api, auth, start, start + WRITERS * WRITES_EACH, limit=3)
    )
    written = await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    seen = await asyncio.wait_for(watcher, 60)
    assert [c["revision"] for c in seen] == sorted(c["revision"] for c in seen)
    pairs = [(c["key"], c["version"]) for c in seen]
    assert len(pairs) == len(set(pairs)) == WRITERS * WRITES_EACH * 2  # no gap, no duplicate
    by_revision: dict[int, set[str]] = {}
    for c in seen:
        by_revision.setdefault(c["revision"], set()).add(c["key"])
    for n, revisions in enumerate(written):
        for r in revisions:
            assert by_revision[r] == {f"w{n}/a", f"w{n}/b"}


async def test_expiry_is_a_change(api: Client, auth: dict[str, str]) -> None:
    wrote = await write(api, auth, {"short": 1, "long": 2}, ttls={"short": 1})
    since, seen = wrote["revision"], []
    deadline = time.monotonic() + 15
    while not seen and time.monotonic() < deadline:  # expires in 1-2 s, purged each second
        status, body = await poll(api, auth, since=since, timeout=3)
        assert status == 200
        seen, since = body["changes"], body["revision"]
    assert seen == [{"key": "short", "op": "expire", "version": 1, "revision": since}]


async def test_deleting_the_account_ends_its_watch_without_a_delete_per_key(
    api: Client, store: TarantoolClient
) -> None:
    user = await register(api)
    auth = bearer(user["token"])
    since = (await write(api, auth, {"a": 1, "b": 2}))["revision"]
    waiting = asyncio.create_task(poll(api, auth, since=since, timeout=30))
    await until_parked(store, auth)
    resp = await api.delete(
        "/api/users/me", json={"current_password": "correct-horse-9"}, headers=auth
    )
    assert resp.status in (200, 204), await resp.text()
    status, body = await asyncio.wait_for(waiting, 20)
    # the account is gone at once; its keys are purged later, unlogged, not replayed
    assert (status, body) == (200, {"changes": [], "revision": since})
    status, body = await poll(api, auth, since=body["revision"], timeout=0)
    assert (status, error_code(body)) == (401, "invalid_token")


async def test_a_since_older_than_the_kept_history_answers_410(
    make_api: Callable[..., Awaitable[Client]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(housekeeping, "PURGE_EVERY", 0.1)
    api = await make_api(changes_retention=1)
    auth = bearer((await register(api))["token"])
    await write(api, auth, {"k": 1})
    last = await write(api, auth, {"k": 2})

    async def compacted() -> bool:
        status, _ = await poll(api, auth, since=1, timeout=0)
        return status == 410

    await until(compacted, "since=1 is older than the kept history")
    resp = await api.get("/api/watch?since=1&timeout=0", headers=auth)
    body = await resp.json()
    assert resp.status == 410
    assert error_code(body) == "history_compacted"
    assert body["error"]["revision"] == last["revision"]
    oldest = body["error"]["oldest"]
    assert 0 < oldest <= last["revision"]
    status, answer = await poll(api, auth, since=oldest, timeout=0)
    assert status == 200
    assert answer["revision"] == last["revision"]
    # a client starting from nothing gets what is still kept: never 410
    assert await poll(api, auth, since=0, timeout=0) == (200, answer)
    metrics = await (await api.get("/metrics")).text()
    assert any(
        line.startswith("kv_changes_purged_total ") and float(line.split()[1]) >= 2
        for line in metrics.splitlines()
    ), metrics


async def test_a_watch_on_one_instance_sees_a_write_through_another(
    make_api: Callable[..., Awaitable[Client]], store: TarantoolClient
) -> None:
    one, other = await make_api(), await make_api()  # two processes' worth: two connections
    auth = bearer((await register(one))["token"])
    since = (await write(one, auth, {"k": 1}))["revision"]
    waiting = asyncio.create_task(poll(one, auth, since=since, timeout=30))
    await until_parked(store, auth)
    wrote = await write(other, auth, {"k": 2})
    status, body = await asyncio.wait_for(waiting, 20)
    assert status == 200
    assert body["changes"] == [
        {"key": "k", "op": "put", "version": 2, "revision": wrote["revision"]}
    ]


async def test_at_the_watch_limit_the_next_one_gets_429_until_a_waiting_call_returns(
    make_api: Callable[..., Awaitable[Client]], store: TarantoolClient
) -> None:
    api = await make_api(max_watches=2)
    auth = bearer((await register(api))["token"])
    since = (await write(api, auth, {"k": 1}))["revision"]
    waiting = [asyncio.create_task(poll(api, auth, since=since, timeout=30)) for _ in range(2)]
    await until_parked(store, auth, 2)
    resp = await api.get(f"/api/watch?since={since}&timeout=0", headers=auth)
    body = await resp.json()
    assert (resp.status, error_code(body)) == (429, "too_many_watches")
    assert resp.headers["Retry-After"] == "1"
    assert "kv_watches_waiting 2.0" in await (await api.get("/metrics")).text()
    # a client that goes away: its call is ended in Tarantool, and its slot comes back
    waiting[0].cancel()

    async def one_left() -> bool:
        return await watches_waiting(store, user_id(auth)) == 1

    await until(one_left, "the call of the client that left ends in Tarantool", 2.0)

    async def admitted() -> bool:
        return (await poll(api, auth, since=since, timeout=0))[0] == 200

    await until(admitted, "a watch is admitted again", 2.0)
    await write(api, auth, {"k": 2})  # wakes the other call
    assert (await waiting[1])[0] == 200


async def test_app_shutdown_ends_a_waiting_poll_at_once(
    make_api: Callable[..., Awaitable[Client]], store: TarantoolClient
) -> None:
    api = await make_api(watch_max_timeout=120)
    auth = bearer((await register(api))["token"])
    since = (await write(api, auth, {"k": 1}))["revision"]
    waiting = asyncio.create_task(poll(api, auth, since=since, timeout=120))
    await until_parked(store, auth)
    closing = asyncio.create_task(api.server.close())  # the app shuts down
    status, body = await asyncio.wait_for(waiting, 60)  # well before the watch's 120 s
    assert (status, error_code(body)) == (503, "shutting_down")
    await asyncio.wait_for(closing, 60)
