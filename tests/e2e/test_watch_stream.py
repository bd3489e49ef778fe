"""The change feed as Server-Sent Events: events, ids, resuming, heartbeats and endings."""

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from kv_api.infrastructure.tarantool.client import TarantoolClient
from tests.e2e.conftest import PASSWORD, Client, bearer, register
from tests.e2e.kv_helpers import write
from tests.e2e.watch_helpers import EventReader, open_stream, until_parked


async def _events(reader: EventReader, count: int) -> list[dict[str, object]]:
    found = []
    while len(found) < count:
        event = await asyncio.wait_for(reader.next(), 30)
        assert event is not None, f"the stream ended after {found}"
        found.append(event)
    return found


async def test_one_event_per_change_with_the_revision_as_id_on_its_last(
    api: Client, auth: dict[str, str]
) -> None:
    stream = await open_stream(api, auth, since=0)
    assert stream.resp.headers["Cache-Control"] == "no-store"
    assert stream.resp.headers["X-Request-ID"]
    assert stream.resp.headers["X-Content-Type-Options"] == "nosniff"
    first = await write(api, auth, {"a": 1, "b": 2})
    second = await write(api, auth, {"a": 3})
    events = await _events(stream, 3)
    assert [(e["event"], e["data"], e["id"]) for e in events] == [
        ("message", {"key": "a", "op": "put", "version": 1, "revision": first["revision"]}, None),
        (
            "message",
            {"key": "b", "op": "put", "version": 1, "revision": first["revision"]},
            str(first["revision"]),
        ),
        (
            "message",
            {"key": "a", "op": "put", "version": 2, "revision": second["revision"]},
            str(second["revision"]),
        ),
    ]
    stream.resp.close()


async def test_last_event_id_resumes_after_that_revision(api: Client, auth: dict[str, str]) -> None:
    first = await write(api, auth, {"a": 1})
    await write(api, auth, {"b": 1})
    await write(api, auth, {"c": 1})
    resumed = await open_stream(api, auth, {"Last-Event-ID": str(first["revision"])}, since=0)
    assert [e["data"]["key"] for e in await _events(resumed, 2)] == ["b", "c"]  # type: ignore[index]
    resumed.resp.close()
    prefixed = await open_stream(api, auth, since=0, prefix="c")
    [event] = await _events(prefixed, 1)
    assert event["data"]["key"] == "c"  # type: ignore[index]
    prefixed.resp.close()
    headers = {**auth, "Accept": "text/event-stream", "Last-Event-ID": "x"}
    bad = await api.get("/api/watch", headers=headers)
    assert bad.status == 400
    assert (await bad.json())["error"]["code"] == "invalid_last_event_id"


async def test_heartbeats_keep_an_idle_stream_open(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    api = await make_api(watch_heartbeat=0.2)
    auth = bearer((await register(api))["token"])
    stream = await open_stream(api, auth)
    while stream.comments < 3:
        line = await asyncio.wait_for(stream.resp.content.readline(), 10)
        assert line, "the stream ended"
        stream.comments += line.startswith(b":")
    wrote = await write(api, auth, {"k": 1})
    [event] = await _events(stream, 1)
    assert event["id"] == str(wrote["revision"])
    stream.resp.close()


async def test_logout_ends_that_tokens_stream_only(api: Client, store: TarantoolClient) -> None:
    user = await register(api)
    first = bearer(user["token"])
    resp = await api.post("/api/login", json={"username": user["username"], "password": PASSWORD})
    second = bearer((await resp.json())["token"])
    ending, staying = await open_stream(api, first), await open_stream(api, second)
    await until_parked(store, first, 2)  # both tokens are the same user's
    assert (await api.post("/api/logout", headers=first)).status in (200, 204)
    end = await asyncio.wait_for(ending.next(), 30)
    assert end is not None
    assert (end["event"], end["data"]) == ("end", {"reason": "session_ended"})
    assert await asyncio.wait_for(ending.next(), 30) is None  # closed
    wrote = await write(api, second, {"k": 1})
    [event] = await _events(staying, 1)
    assert event["id"] == str(wrote["revision"])
    staying.resp.close()


async def test_a_password_change_ends_the_stream(api: Client, store: TarantoolClient) -> None:
    user = await register(api)
    auth = bearer(user["token"])
    stream = await open_stream(api, auth)
    await until_parked(store, auth)
    resp = await api.patch(
        "/api/users/me",
        json={"current_password": PASSWORD, "password": "another-horse-7"},
        headers=auth,
    )
    assert resp.status == 200, await resp.text()
    end = await asyncio.wait_for(stream.next(), 30)
    assert end is not None and end["data"] == {"reason": "session_ended"}


async def test_app_shutdown_ends_open_streams(
    make_api: Callable[..., Awaitable[Client]], store: TarantoolClient
) -> None:
    api = await make_api(watch_heartbeat=60, watch_max_timeout=60)
    auth = bearer((await register(api))["token"])
    stream = await open_stream(api, auth)
    await until_parked(store, auth)
    closing = asyncio.create_task(api.server.close())
    end = await asyncio.wait_for(stream.next(), 30)  # well before the 60 s heartbeat
    assert end is not None and end["data"] == {"reason": "shutting_down"}
    await asyncio.wait_for(closing, 60)


async def test_errors_before_the_stream_opens_are_json(api: Client) -> None:
    resp = await api.get("/api/watch", headers={"Accept": "text/event-stream"})
    assert (resp.status, resp.content_type) == (401, "application/json")


@pytest.mark.parametrize(
    ("accept", "stream"),
    [
        ("text/event-stream", True),
        ("TEXT/EVENT-STREAM", True),
        ("text/event-stream; charset=utf-8", True),
        ("application/json;q=0.5, text/event-stream", True),
        ("text/*", True),
        ("text/event-stream;q=0", False),
        ("text/event-stream;q=0, application/json", False),
        ("application/json, text/event-stream;q=0.9", False),
        ("*/*", False),
        ("application/json", False),
        ("not a media type;;;", False),
    ],
)
async def test_the_form_follows_media_type_negotiation(
    api: Client, auth: dict[str, str], accept: str, stream: bool
) -> None:
    params = {"since": "0", "timeout": "0"}
    async with api.get("/api/watch", params=params, headers={**auth, "Accept": accept}) as resp:
        assert resp.status == 200
        expected = "text/event-stream" if stream else "application/json"
        assert resp.content_type == expected, accept


@pytest.mark.slow  # waits out the shortest token lifetime the settings allow (10 s)
async def test_a_stream_ends_when_its_token_expires(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    api = await make_api(token_ttl=10, watch_max_timeout=60, watch_heartbeat=60)
    user = await register(api)
    auth = bearer(user["token"])
    expires_at = user["expires_in"] + time.time()
    stream = await open_stream(api, auth, values="true")
    await write(api, auth, {"before": 1})
    [event] = await _events(stream, 1)
    assert event["data"]["key"] == "before"
    end = await asyncio.wait_for(stream.next(), 30)
    assert end is not None
    assert (end["event"], end["data"]) == ("end", {"reason": "token_expired"})
    assert time.time() >= expires_at - 1.0  # at the token's exp, not before
    assert await asyncio.wait_for(stream.next(), 10) is None  # closed
    assert (await api.get("/api/users/me", headers=auth)).status == 401
