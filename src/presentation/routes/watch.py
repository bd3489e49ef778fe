"""GET /api/watch: a user's changes after a revision, as a long poll (JSON) or, asked with
`Accept: text/event-stream` (as EventSource does), as a stream of Server-Sent Events."""

import dataclasses
from typing import Any

import msgspec
from aiohttp import web
from dependency_injector.wiring import Provide, inject

from kv_api.application.errors import ApplicationError, SessionExpired
from kv_api.application.kv.watch import WatchChanges, WatchChangesHandler
from kv_api.application.ports import ChangeBatch, Watcher
from kv_api.domain.changes import Change
from kv_api.presentation.change_feed import OPEN_WATCHES, OpenWatches
from kv_api.presentation.container import Container
from kv_api.presentation.http.auth import current_session
from kv_api.presentation.http.edge import stamp
from kv_api.presentation.http.errors import error_body, error_response
from kv_api.presentation.http.json import json_response
from kv_api.presentation.http.problems import BadRequest
from kv_api.presentation.http.request_context import current_request_id, new_request_id
from kv_api.presentation.http.watch_schemas import WatchQuery

routes = web.RouteTableDef()
_query = WatchQuery()
_encode = msgspec.json.Encoder().encode
EVENT_STREAM = "text/event-stream"
RECONNECT_MS = 1000  # how soon an EventSource reconnects after a stream ends


def change_item(change: Change) -> dict[str, Any]:
    item: dict[str, Any] = {
        "key": change.key,
        "op": change.op.value,
        "version": change.version,
        "revision": change.revision,
    }
    if change.has_value:
        item["value"] = change.value
    return item


def _shutting_down() -> web.Response:
    return error_response(
        503, "shutting_down", "the server is stopping; watch again", {"Retry-After": "1"}
    )


def _load(request: web.Request) -> WatchChanges:
    if len(set(request.query)) != len(request.query):  # dict() would keep one value silently
        raise BadRequest("repeated_parameter", "each query parameter may be given only once")
    q = _query.load(dict(request.query))
    since = q["since"]
    last_event = request.headers.get("Last-Event-ID")
    if last_event is not None and _wants_stream(request):
        if not (last_event.isascii() and last_event.isdigit() and len(last_event) <= 18):
            raise BadRequest("invalid_last_event_id", "Last-Event-ID must be an event's id")
        since = int(last_event)  # a reconnecting EventSource resumes where it stopped
    return WatchChanges(
        current_session(request), q["prefix"], since, q["limit"], q["timeout"], q["values"]
    )


def _wants_stream(request: web.Request) -> bool:
    return EVENT_STREAM in request.headers.get("Accept", "")


@routes.get("/api/watch")
@inject
async def watch(
    request: web.Request,
    handler: WatchChangesHandler = Provide[Container.watch_changes],
    heartbeat: float = Provide[Container.settings.provided.watch_heartbeat],
) -> web.StreamResponse:
    query = _load(request)
    handler.check(query)  # a bad request is told so even when every watch slot is taken
    watches = request.app[OPEN_WATCHES]
    watcher = handler.open()
    try:
        if _wants_stream(request):
            return await _stream(request, handler, watcher, watches, query, heartbeat)
        batch = await watches.until_closed(handler(watcher, query))
    finally:
        watcher.close()
    if batch is None:
        return _shutting_down()
    changes = [change_item(change) for change in batch.changes]
    return json_response({"changes": changes, "revision": batch.revision})


async def _stream(
    request: web.Request,
    handler: WatchChangesHandler,
    watcher: Watcher,
    watches: OpenWatches,
    query: WatchChanges,
    heartbeat: float,
) -> web.StreamResponse:
    # the first poll answers at once, before the stream opens: 401, 410 and 429 stay JSON
    first = await watches.until_closed(handler(watcher, dataclasses.replace(query, timeout=0)))
    if first is None:
        return _shutting_down()
    response = await _open_stream(request)
    batch: ChangeBatch | None = first
    reason = "shutting_down"
    try:
        while batch is not None:
            if batch.changes:
                await response.write(_events(batch))
            elif not batch.ended:
                await response.write(b": heartbeat\n\n")
            if batch.ended:
                reason = "session_ended"
                break
            next_query = dataclasses.replace(query, since=batch.revision, timeout=heartbeat)
            batch = await watches.until_closed(handler(watcher, next_query))
    except SessionExpired:
        reason = "session_ended"
    except ApplicationError as exc:  # storage unavailable, history compacted: say why
        await _end(response, {"reason": exc.code, **error_body(exc.code, exc.message)})
        return response
    except ConnectionError:  # the client went away
        return response
    await _end(response, {"reason": reason})
    return response


async def _end(response: web.StreamResponse, data: dict[str, Any]) -> None:
    """A last `end` event says why: an EventSource client closes on it (or reconnects, for
    shutting_down, to resume with Last-Event-ID)."""
    try:
        await response.write(_event("end", data))
        await response.write_eof()
    except ConnectionError:
        pass


async def _open_stream(request: web.Request) -> web.StreamResponse:
    """Prepared here, so the headers the edge adds to other answers are set here too (stamp)."""
    response = web.StreamResponse(headers={"Content-Type": EVENT_STREAM})
    response.headers["X-Accel-Buffering"] = "no"  # proxies must pass each event on at once
    stamp(response, current_request_id() or new_request_id(), request.path)
    await response.prepare(request)
    await response.write(f"retry: {RECONNECT_MS}\n\n".encode())
    return response


def _events(batch: ChangeBatch) -> bytes:
    """One event per change; `id:` (the revision) only on the last change of a revision, so
    Last-Event-ID always names a revision whose changes have all been received."""
    parts = []
    changes = batch.changes
    for i, change in enumerate(changes):
        parts.append(b"data: " + _encode(change_item(change)) + b"\n")
        if i + 1 == len(changes) or changes[i + 1].revision != change.revision:
            parts.append(f"id: {change.revision}\n".encode())
        parts.append(b"\n")
    return b"".join(parts)


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + _encode(data) + b"\n\n"
