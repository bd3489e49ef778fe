"""GET /api/watch as a long poll: the changes after a revision, whole revisions, in order."""

import asyncio
from typing import Any

from kv_api.infrastructure.tarantool.client import TarantoolClient
from tests.e2e.conftest import Client, bearer, register
from tests.e2e.kv_helpers import error_code, post, write
from tests.e2e.watch_helpers import changes_after, poll, until_parked


async def test_a_write_and_a_delete_are_answered_after_since_in_order(
    api: Client, auth: dict[str, str]
) -> None:
    first = await write(api, auth, {"a": 1, "b": 2})
    second = await write(api, auth, {"a": 3})
    status, deleted = await post(api, "/api/delete", auth, {"keys": ["b"]})
    assert status == 200
    body = await changes_after(api, auth, 0)
    r1, r2, r3 = first["revision"], second["revision"], deleted["revision"]
    assert r1 < r2 < r3
    assert body == {
        "changes": [
            {"key": "a", "op": "put", "version": 1, "revision": r1},
            {"key": "b", "op": "put", "version": 1, "revision": r1},
            {"key": "a", "op": "put", "version": 2, "revision": r2},
            {"key": "b", "op": "delete", "version": 1, "revision": r3},
        ],
        "revision": r3,
    }
    assert (await changes_after(api, auth, r2))["changes"] == body["changes"][3:]


async def test_a_poll_that_times_out_answers_no_change_and_the_current_revision(
    api: Client, auth: dict[str, str]
) -> None:
    revision = (await write(api, auth, {"k": 1}))["revision"]
    status, body = await poll(api, auth, since=revision, timeout=0.2)
    assert (status, body) == (200, {"changes": [], "revision": revision})
    status, body = await poll(api, auth, timeout=0)  # no since: from now on
    assert (status, body) == (200, {"changes": [], "revision": revision})
    status, body = await poll(api, auth, since=revision + 1000, timeout=0)
    assert (status, body) == (200, {"changes": [], "revision": revision})


async def test_a_waiting_poll_answers_the_write_that_wakes_it(
    api: Client, auth: dict[str, str], store: TarantoolClient
) -> None:
    revision = (await write(api, auth, {"k": 1}))["revision"]
    waiting = asyncio.create_task(poll(api, auth, since=revision, timeout=30))
    await until_parked(store, auth)
    wrote = await write(api, auth, {"k": 2})
    status, body = await waiting
    assert status == 200
    assert body == {
        "changes": [{"key": "k", "op": "put", "version": 2, "revision": wrote["revision"]}],
        "revision": wrote["revision"],
    }


async def test_prefix_filters_keys_and_still_advances_the_revision(
    api: Client, auth: dict[str, str]
) -> None:
    await write(api, auth, {"app/x": 1, "other": 1})
    last = await write(api, auth, {"other": 2})
    body = await changes_after(api, auth, 0, prefix="app/")
    assert [c["key"] for c in body["changes"]] == ["app/x"]
    assert body["revision"] == last["revision"]  # the non-matching revision is passed over


async def test_values_come_with_puts_still_current(api: Client, auth: dict[str, str]) -> None:
    await write(api, auth, {"old": "first", "kept": {"n": [1, None]}, "nul": None})
    await write(api, auth, {"old": "second"})
    body = await changes_after(api, auth, 0, values=True)
    values = [(c["key"], c["version"], c.get("value", "<absent>")) for c in body["changes"]]
    assert values == [
        ("old", 1, "<absent>"),  # overwritten since: only the current version carries it
        ("kept", 1, {"n": [1, None]}),
        ("nul", 1, None),  # a stored null is a value too
        ("old", 2, "second"),
    ]
    plain = await changes_after(api, auth, 0)
    assert all("value" not in c for c in plain["changes"])


async def test_limit_answers_whole_revisions(api: Client, auth: dict[str, str]) -> None:
    big = await write(api, auth, {f"k{i}": i for i in range(5)})
    small = await write(api, auth, {"z": 1})
    body = await changes_after(api, auth, 0, limit=2)
    assert len(body["changes"]) == 5  # one revision is never split
    assert body["revision"] == big["revision"]
    body = await changes_after(api, auth, body["revision"], limit=2)
    assert [c["key"] for c in body["changes"]] == ["z"]
    assert body["revision"] == small["revision"]


async def test_a_user_never_sees_another_users_changes(api: Client, store: TarantoolClient) -> None:
    alice, bob = bearer((await register(api))["token"]), bearer((await register(api))["token"])
    await write(api, bob, {"shared": 1, "x": 2})
    mine = await write(api, alice, {"shared": 5})
    for prefix in ("", "s", "shared", "x"):
        body = await changes_after(api, alice, 0, prefix=prefix)
        assert all(c["revision"] <= mine["revision"] for c in body["changes"])
        assert [(c["key"], c["version"]) for c in body["changes"]] in ([], [("shared", 1)])
    # a waiting watch is not answered by another user's write
    waiting = asyncio.create_task(poll(api, alice, since=mine["revision"], timeout=1))
    await until_parked(store, alice)
    await write(api, bob, {"shared": 2})
    assert await waiting == (200, {"changes": [], "revision": mine["revision"]})


async def test_bad_queries_are_told_apart(api: Client, auth: dict[str, str]) -> None:
    cases: list[tuple[str, str]] = [
        ("since=-1", "validation_error"),
        ("since=abc", "validation_error"),
        ("limit=0", "validation_error"),
        ("limit=1001", "validation_error"),
        ("timeout=-1", "validation_error"),
        ("timeout=nan", "validation_error"),
        ("values=maybe", "validation_error"),
        ("prefix=" + "a" * 1025, "validation_error"),
        ("prefix=" + "%C3%A9" * 513, "validation_error"),  # 513 characters, 1026 bytes
        ("since=1&since=2", "repeated_parameter"),
    ]
    for query, code in cases:
        resp = await api.get("/api/watch?" + query, headers=auth)
        body: Any = await resp.json()
        assert (resp.status, error_code(body)) == (400, code), query
    resp = await api.get("/api/watch?timeout=0")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"
