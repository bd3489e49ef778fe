"""GET /api/watch: a user's changes after a revision, as a long poll (JSON) or, asked with
`Accept: text/event-stream` (as EventSource does), as a stream of Server-Sent Events."""

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

import mimeparse
import msgspec
from aiohttp import web
from aiohttp_sse import EventSourceResponse

from kv_api.application.errors import ApplicationError, SessionExpired, TokenExpired
from kv_api.application.kv.watch import WatchChanges, WatchChangesHandler
from kv_api.application.ports import ChangeBatch
from kv_api.domain.changes import Change
from kv_api.presentation.http.auth import current_session
from kv_api.presentation.http.edge import stamp
from kv_api.presentation.http.errors import error_body, error_response
from kv_api.presentation.http.inflight import InFlightRequests
from kv_api.presentation.http.json import json_response
from kv_api.presentation.http.problems import BadRequest
from kv_api.presentation.http.request_context import current_request_id, new_request_id
from kv_api.presentation.routes.contract import JSON, Answer, Operation, operation
from kv_api.presentation.routes.kv.endpoints import single_values
from kv_api.presentation.routes.watch import schemas as s

EVENT_STREAM = "text/event-stream"
_FORMS = [EVENT_STREAM, JSON]
RECONNECT_MS = 1000  # how soon an EventSource reconnects after a stream ends
END_TIMEOUT = 1.0  # seconds a client has to take the `end` event
_encode = msgspec.json.Encoder().encode
_DESCRIPTION = """\
The changes of your keys after revision `since`, oldest first, whole revisions only. When
there is none yet the call waits (long poll) until one happens or `timeout` passes, then
answers an empty list and the current revision. Loop with `since` = the answer's `revision`.

With `Accept: text/event-stream` the same query opens a stream of Server-Sent Events: one
event per change (`data:` is the change as in `changes`), `id:` (the revision) on the last
event of each revision, so `Last-Event-ID` resumes after whole revisions; a comment line as
heartbeat; a last `end` event (`{"reason": "session_ended" | "shutting_down" | <error code>}`)
before the stream closes. Errors before the stream opens are the usual JSON answers."""
_EVENTS_EXAMPLE = (
    "retry: 1000\n\n"
    'id: 8\ndata: {"key":"key1","op":"put","version":2,"revision":8}\n\n'
    ": ping\n\n"
    'event: end\ndata: {"reason":"session_ended"}\n\n'
)
HISTORY_COMPACTED = Answer(
    "HistoryCompacted",
    410,
    "`since` is older than the kept history (KV_CHANGES_RETENTION, KV_CHANGES_KEEP): re-read "
    "your keys, then watch from `error.revision`; `error.oldest` is the oldest `since` still "
    "answered",
    error_body(
        "history_compacted",
        "the changes after this revision are no longer kept ...",
        oldest=120,
        revision=180,
    ),
)
TOO_MANY_WATCHES = Answer(
    "TooManyWatches",
    429,
    "this server process holds its limit of open watches (KV_MAX_WATCHES); try again after "
    "Retry-After",
    error_body("too_many_watches", "the server holds its limit of open watches"),
    retry_after=True,
)


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


def wants_stream(request: web.Request) -> bool:
    """The stream only when Accept prefers it; any other Accept, or none, gets the JSON form."""
    accept = request.headers.get("Accept")
    if not accept:
        return False
    try:  # media types are case-insensitive; of equal preference, JSON (last) wins
        return bool(mimeparse.best_match(_FORMS, accept.lower()) == EVENT_STREAM)
    except mimeparse.MimeTypeParseException:
        return False


def _shutting_down() -> web.Response:
    return error_response(
        503, "shutting_down", "the server is stopping; watch again", {"Retry-After": "1"}
    )


class WatchEndpoints:
    def __init__(
        self,
        watch: WatchChangesHandler,
        in_flight: InFlightRequests,
        heartbeat: float,
        send_timeout: float,
    ) -> None:
        self._watch = watch
        self._in_flight = in_flight
        self._heartbeat = heartbeat
        self._send_timeout = send_timeout
        self._schema = s.WatchQuery()

    @operation(
        Operation(
            "get",
            "/api/watch",
            "watch",
            "Watch your keys: changes after a revision (long poll or Server-Sent Events)",
            "kv",
            "the changes after `since` (maybe none, after `timeout`)",
            content=(JSON, s.WatchResponse),
            alternatives=(
                (
                    EVENT_STREAM,
                    {
                        "schema": {"type": "string", "description": "Server-Sent Events"},
                        "example": _EVENTS_EXAMPLE,
                    },
                ),
            ),
            success_headers={"Cache-Control": {"schema": {"type": "string"}}},
            errors=(400, 401, HISTORY_COMPACTED, TOO_MANY_WATCHES, 503),
            query=s.WatchQuery,
            description=_DESCRIPTION,
        )
    )
    async def watch(self, request: web.Request) -> web.StreamResponse:
        query = self._query(request)
        if wants_stream(request):
            return await self._stream(request, query)
        batch = await self._in_flight.unless_draining(self._watch.poll(query))
        if batch is None:
            return _shutting_down()
        answer = {"changes": [change_item(c) for c in batch.changes], "revision": batch.revision}
        if batch.offset:
            answer.update(fragment=True, offset=batch.offset)
        return json_response(answer)

    def _query(self, request: web.Request) -> WatchChanges:
        q = self._schema.load(single_values(request))
        since, offset = q["since"], q["offset"]
        last_event = request.headers.get("Last-Event-ID")
        if last_event is not None and wants_stream(request):
            # a reconnecting EventSource resumes where it stopped
            since, offset = resume_point(last_event)
        session = current_session(request)
        return WatchChanges(
            session, q["prefix"], since, q["limit"], q["timeout"], q["values"], offset
        )

    async def _stream(self, request: web.Request, query: WatchChanges) -> web.StreamResponse:
        batches = self._watch.follow(query)
        async with contextlib.aclosing(batches):
            # the first batch comes before the stream opens: 401, 410 and 429 stay JSON
            first = await self._in_flight.unless_draining(anext(batches))
            if first is None:
                return _shutting_down()
            response = await self._open(request)
            try:
                # the whole relay, writes included: a client that does not read must not
                # hold a shutdown
                reason = await self._in_flight.unless_draining(
                    self._relay(response, first, batches)
                )
                await _end(request, response, reason or {"reason": "shutting_down"})
            finally:
                response.stop_streaming()
        return response

    async def _open(self, request: web.Request) -> EventSourceResponse:
        """Prepared here, so the headers the edge adds to other answers are set here too."""
        response = EventSourceResponse(
            sep="\n", ping_interval=self._heartbeat, send_timeout=self._send_timeout
        )
        response.headers["Cache-Control"] = "no-store"  # as every answer of the API
        stamp(response, current_request_id() or new_request_id(), request.path)
        await response.prepare(request)
        await response.write(f"retry: {RECONNECT_MS}\n\n".encode())
        return response

    async def _relay(
        self,
        response: EventSourceResponse,
        batch: ChangeBatch,
        batches: AsyncGenerator[ChangeBatch, None],
    ) -> dict[str, Any] | None:
        """Batch after batch until the stream ends: why it ended, for the `end` event; None
        when the client went away or stopped reading (there is nobody to tell)."""
        try:
            while True:
                await _send(response, batch)
                if batch.ended:
                    return {"reason": "session_ended"}
                batch = await anext(batches)
        except TokenExpired:
            return {"reason": "token_expired"}
        except SessionExpired:
            return {"reason": "session_ended"}
        except ApplicationError as exc:  # storage unavailable, history compacted: say why
            return {"reason": exc.code, **error_body(exc.code, exc.message)}
        except (ConnectionError, TimeoutError):
            return None


def resume_point(event_id: str) -> tuple[int, int]:
    """The since and offset an event's id names: `N` (after revision N) or `N.K` (after the
    first K changes of the revision after N, a fragment's end)."""
    since, _, offset = event_id.partition(".")
    if not all(
        part.isascii() and part.isdigit() and len(part) <= 18 for part in (since, offset or "0")
    ):
        raise BadRequest("invalid_last_event_id", "Last-Event-ID must be an event's id")
    return int(since), int(offset or 0)


async def _send(response: EventSourceResponse, batch: ChangeBatch) -> None:
    """One event per change; `id:` (the revision) only on the last change of a revision, so
    Last-Event-ID always names a revision whose changes have all been received. A batch that
    stops inside a revision (a fragment) ends with a `fragment` event whose id resumes there."""
    changes = batch.changes
    for i, change in enumerate(changes):
        if i + 1 < len(changes):
            complete = changes[i + 1].revision != change.revision
        else:
            complete = not batch.offset
        event_id = str(change.revision) if complete else None
        await response.send(_encode(change_item(change)).decode(), id=event_id)
    if batch.offset:
        continues = {"revision": batch.revision + 1, "offset": batch.offset}
        await response.send(
            _encode(continues).decode(),
            id=f"{batch.revision}.{batch.offset}",
            event="fragment",
        )


async def _end(
    request: web.Request, response: EventSourceResponse, data: dict[str, Any] | None
) -> None:
    """A last `end` event says why: an EventSource client closes on it (or reconnects, for
    shutting_down, to resume with Last-Event-ID). A client that does not take it within
    END_TIMEOUT is cut off."""
    if data is None or request.transport is None or request.transport.is_closing():
        return
    try:
        async with asyncio.timeout(END_TIMEOUT):
            await response.send(_encode(data).decode(), event="end")
            await response.write_eof()
    except (ConnectionError, TimeoutError):
        if request.transport is not None:
            request.transport.abort()
