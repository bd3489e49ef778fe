"""Helpers of the change-feed e2e tests: long polls, a small Server-Sent Events reader, and
waits for a watch to be parked in Tarantool or for the server to see a client leave."""

import json
from typing import Any

import jwt
from aiohttp import ClientResponse

from kv_api.infrastructure.tarantool.client import TarantoolClient
from tests.e2e.conftest import Client
from tests.support.watches import until_watches_wait


async def poll(api: Client, auth: dict[str, str], **params: Any) -> tuple[int, Any]:
    query = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
    resp = await api.get("/api/watch", params=query, headers=auth)
    assert resp.content_type == "application/json", await resp.text()
    return resp.status, await resp.json()


async def changes_after(api: Client, auth: dict[str, str], since: int, **params: Any) -> Any:
    status, body = await poll(api, auth, since=since, timeout=0, **params)
    assert status == 200, body
    return body


class EventReader:
    """Reads a text/event-stream answer event by event (comments are counted apart)."""

    def __init__(self, resp: ClientResponse) -> None:
        self.resp = resp
        self.comments = 0
        self.last_id: str | None = None

    async def next(self) -> dict[str, Any] | None:
        """The next event as {"event", "data", "id"}; None when the stream ended."""
        event: dict[str, Any] = {"event": "message", "data": None, "id": None}
        lines: list[str] = []
        while True:
            raw = await self.resp.content.readline()
            if not raw:
                return None
            line = raw.decode().rstrip("\n")
            if line == "":
                if lines:
                    event["data"] = json.loads("\n".join(lines))
                    return event
                continue
            if line.startswith(":"):
                self.comments += 1
            elif line.startswith("data: "):
                lines.append(line[6:])
            elif line.startswith("event: "):
                event["event"] = line[7:]
            elif line.startswith("id: "):
                event["id"] = self.last_id = line[4:]


async def open_stream(
    api: Client, auth: dict[str, str], headers: dict[str, str] | None = None, **params: Any
) -> EventReader:
    query = {k: str(v) for k, v in params.items()}
    resp = await api.get(
        "/api/watch",
        params=query,
        headers={**auth, "Accept": "text/event-stream", **(headers or {})},
    )
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "text/event-stream"
    return EventReader(resp)


def user_id(auth: dict[str, str]) -> int:
    """The user a bearer token is for: its `sub` claim (read unverified; the test got it from
    the server)."""
    token = auth["Authorization"].removeprefix("Bearer ")
    return int(jwt.decode(token, options={"verify_signature": False})["sub"])


async def until_parked(store: TarantoolClient, auth: dict[str, str], count: int = 1) -> None:
    """Until exactly `count` watches of the token's user wait in Tarantool."""
    await until_watches_wait(store, user_id(auth), count)


def open_connections(api: Client) -> int:
    """The connections the test server holds open: one whose client has left is gone, or
    has no transport while its handler finishes."""
    runner = api.server.runner
    assert runner is not None and runner.server is not None
    return sum(handler.transport is not None for handler in runner.server.connections)
