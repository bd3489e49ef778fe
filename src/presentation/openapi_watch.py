"""The change feed in the OpenAPI document: one operation, two forms (JSON long poll and a
text/event-stream), its own 410 and 429 answers."""

from typing import Any

from apispec import APISpec

from kv_api.presentation.http.schemas import ErrorResponse
from kv_api.presentation.http.watch_schemas import WatchQuery, WatchResponse
from kv_api.presentation.openapi_operations import JSON, Operation

COMPACTED, TOO_MANY_WATCHES = "HistoryCompacted", "TooManyWatches"
WATCH_RESPONSE_STATUS = {COMPACTED: 410, TOO_MANY_WATCHES: 429}
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
    'data: {"key":"key1","op":"put","version":2,"revision":8}\nid: 8\n\n'
    ": heartbeat\n\n"
    'event: end\ndata: {"reason":"session_ended"}\n\n'
)

WATCH_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/api/watch",
        "watch",
        "Watch your keys: changes after a revision (long poll or Server-Sent Events)",
        "kv",
        "the changes after `since` (maybe none, after `timeout`)",
        content=(JSON, WatchResponse),
        errors=(400, 401, COMPACTED, TOO_MANY_WATCHES, 503),
        query=WatchQuery,
        description=_DESCRIPTION,
    ),
)


def register_watch_responses(spec: APISpec) -> None:
    compacted = {
        "error": {
            "code": "history_compacted",
            "message": "the changes after this revision are no longer kept ...",
            "oldest": 120,
            "revision": 180,
        }
    }
    spec.components.response(
        COMPACTED,
        {
            "description": "`since` is older than the kept history (KV_CHANGES_RETENTION, "
            "KV_CHANGES_KEEP): re-read your keys, then watch from `error.revision`; "
            "`error.oldest` is the oldest `since` still answered",
            "content": {JSON: {"schema": ErrorResponse, "example": compacted}},
        },
    )
    too_many = {"error": {"code": "too_many_watches", "message": "the server holds its limit"}}
    spec.components.response(
        TOO_MANY_WATCHES,
        {
            "description": "this server process holds its limit of open watches "
            "(KV_MAX_WATCHES); try again after Retry-After",
            "content": {JSON: {"schema": ErrorResponse, "example": too_many}},
            "headers": {
                "Retry-After": {
                    "description": "seconds to wait before trying again",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
        },
    )


def add_event_stream(document: dict[str, Any]) -> None:
    """The second form of the success answer, which apispec's Operation cannot spell."""
    ok = document["paths"]["/api/watch"]["get"]["responses"]["200"]
    ok["content"]["text/event-stream"] = {
        "schema": {"type": "string", "description": "Server-Sent Events"},
        "example": _EVENTS_EXAMPLE,
    }
    ok["headers"] = {
        "Cache-Control": {"schema": {"type": "string", "enum": ["no-store"]}},
    }
