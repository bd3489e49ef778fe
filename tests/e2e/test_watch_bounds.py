"""The change feed is bounded in bytes: every answer and every stream batch stays under
KV_WATCH_MAX_BYTES, a revision larger than that comes in parts marked as fragments, and a
client that follows `revision` and `offset` sees every change once, in order."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from tests.e2e.conftest import Client, bearer, register
from tests.e2e.kv_helpers import write
from tests.e2e.watch_helpers import open_stream, poll

BOUND = 1024 * 1024  # the smallest bound the settings allow with values of 128 KiB
VALUE = "v" * 100_000
BIG = 9  # values in one revision: 900 KB stored, several times what one answer holds


async def _bounded_api(make_api: Callable[..., Awaitable[Client]]) -> Client:
    return await make_api(watch_max_bytes=BOUND, max_value_bytes=128 * 1024)


async def _all_changes(api: Client, auth: dict[str, str]) -> list[dict[str, Any]]:
    """Follows the feed from the start as a client should, checking each answer's size."""
    since, offset, seen = 0, 0, []
    while True:
        params: dict[str, Any] = {"since": since, "values": "true", "limit": 1000, "timeout": 0}
        if offset:
            params["offset"] = offset
        resp = await api.get("/api/watch", params=params, headers=auth)
        raw = await resp.read()
        assert resp.status == 200, raw[:300]
        assert len(raw) <= BOUND, len(raw)
        body = await resp.json()
        seen += body["changes"]
        if not body["changes"] and not body.get("fragment"):
            return seen
        assert body.get("fragment", False) == ("offset" in body)
        since, offset = body["revision"], body.get("offset", 0)


async def test_many_big_values_come_in_answers_under_the_bound(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    api = await _bounded_api(make_api)
    auth = bearer((await register(api))["token"])
    for i in range(40):
        await write(api, auth, {f"k{i:02d}": VALUE})
    seen = await _all_changes(api, auth)
    assert [c["key"] for c in seen] == [f"k{i:02d}" for i in range(40)]
    assert all(c["value"] == VALUE for c in seen)


async def test_a_revision_larger_than_the_bound_comes_in_fragments(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    api = await _bounded_api(make_api)
    auth = bearer((await register(api))["token"])
    big = await write(api, auth, {f"k{i:02d}": VALUE for i in range(BIG)})
    after = await write(api, auth, {"z": 1})
    status, first = await poll(api, auth, since=0, values=True, limit=1000, timeout=0)
    assert status == 200
    assert first["fragment"] is True and first["offset"] > 0
    assert first["revision"] == 0  # the revision is not complete yet
    assert {c["revision"] for c in first["changes"]} == {big["revision"]}
    seen = await _all_changes(api, auth)
    assert [c["key"] for c in seen] == [*(f"k{i:02d}" for i in range(BIG)), "z"]
    assert seen[-1]["revision"] == after["revision"]


async def test_a_stream_marks_the_fragments_of_a_revision(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    api = await _bounded_api(make_api)
    auth = bearer((await register(api))["token"])
    big = await write(api, auth, {f"k{i:02d}": VALUE for i in range(BIG)})
    stream = await open_stream(api, auth, since=0, values="true")
    keys, fragments, last_id = [], 0, None
    while len(keys) < BIG:
        event = await asyncio.wait_for(stream.next(), 30)
        assert event is not None
        if event["event"] == "fragment":
            fragments += 1
            assert event["data"]["revision"] == big["revision"]
            assert event["id"] == f"0.{event['data']['offset']}"
            continue
        keys.append(event["data"]["key"])
        last_id = event["id"] or last_id
    assert keys == [f"k{i:02d}" for i in range(BIG)]
    assert fragments >= 3 and last_id == str(big["revision"])
    stream.resp.close()


async def test_a_stream_resumes_inside_a_revision_from_a_fragment_id(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    api = await _bounded_api(make_api)
    auth = bearer((await register(api))["token"])
    await write(api, auth, {f"k{i:02d}": VALUE for i in range(BIG)})
    stream = await open_stream(api, auth, since=0, values="true")
    received = []
    while True:
        event = await asyncio.wait_for(stream.next(), 30)
        assert event is not None
        if event["event"] == "fragment":
            resume = event["id"]
            break
        received.append(event["data"]["key"])
    stream.resp.close()
    again = await open_stream(api, auth, {"Last-Event-ID": resume}, values="true")
    while len(received) < BIG:
        event = await asyncio.wait_for(again.next(), 30)
        assert event is not None
        if event["event"] != "fragment":
            received.append(event["data"]["key"])
    assert received == [f"k{i:02d}" for i in range(BIG)]  # each once, in order
    again.resp.close()


async def test_an_offset_out_of_bounds_is_refused_and_one_without_since_ignored(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    api = await _bounded_api(make_api)
    auth = bearer((await register(api))["token"])
    status, body = await poll(api, auth, since=0, offset=-1, timeout=0)
    assert status == 400 and list(body["error"]["fields"]) == ["offset"]
    status, body = await poll(api, auth, since=0, offset=2**31 + 1, timeout=0)
    assert status == 400 and list(body["error"]["fields"]) == ["offset"]
    assert (await poll(api, auth, offset=5, timeout=0))[0] == 200
