"""The access log: one INFO line per request on the `kv_api.access` logger.

With logging as `kv-api serve` sets it up (one buffered JSON stream), the line's fields go
straight to that stream's formatter: no LogRecord, no handler and filter calls, about half
the cost (docs/decisions/018-*). With any other set-up a record is built from a template instead
of through `Logger.info` (caller lookup, LogRecord.__init__, `extra` merging); it carries the
request's id, method, route and user itself, so the request context filter has nothing left
to look up, and it names its own fields (OWN_FIELDS), so a formatter need not sort them out of
thirty standard attributes. Either way levels apply, and the line is the same.
"""

import logging
import time

from aiohttp import web

from kv_api.presentation.http.auth import SESSION_KEY
from kv_api.presentation.http.request_context import route_of
from kv_api.presentation.logs import OWN_FIELDS, json_stream_of

access_logger = logging.getLogger("kv_api.access")
_TEMPLATE = {
    **vars(logging.LogRecord(access_logger.name, logging.INFO, "", 0, "", None, None)),
    # not collected for any record (configure_logging), so not for these either
    "thread": None,
    "threadName": None,
    "process": None,
    "processName": None,
}
_START = logging._startTime  # type: ignore[attr-defined]
_new_record = logging.LogRecord.__new__


def log_access(
    request: web.Request,
    status: int,
    elapsed: float,
    request_id: str,
    route: str | None = None,
) -> None:
    """route: the request's route template, looked up when not given (not before routing)."""
    if not access_logger.isEnabledFor(logging.INFO):
        return
    # the percent-encoded path: no query string (it may hold key names), no injected newlines
    path = request.rel_url.raw_path
    method = request.method
    own = {
        "path": path,
        "status": status,
        "duration_ms": round(elapsed * 1_000_000) / 1000,  # round(x, 3) goes through a string
        "remote": request.remote,
        "request_id": request_id,
        "method": method,
        "route": route_of(request) if route is None else route,
    }
    session = request.get(SESSION_KEY)
    if session is not None:
        own["user_id"] = int(session.user_id)
    message = f"{method} {path} {status}"
    now = time.time()
    stream = json_stream_of(access_logger)
    if stream is not None:
        stream.write_json(now, "info", access_logger.name, message, own)
        return
    record = _new_record(logging.LogRecord)
    fields = record.__dict__
    fields.update(_TEMPLATE)
    fields.update(own)
    fields["msg"] = message
    fields["created"] = now
    fields["msecs"] = (now - int(now)) * 1000
    fields["relativeCreated"] = (now - _START) * 1000
    fields[OWN_FIELDS] = own
    access_logger.handle(record)
