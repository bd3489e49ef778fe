"""The access log: one INFO line per request on the `kv_api.access` logger.

The record is built from a template instead of through `Logger.info`: the standard path
(caller lookup, LogRecord.__init__, `extra` merging) cost more than the rest of a small
read's own code. It carries the request's id, method, route and user itself, so the request
context filter has nothing left to look up, and it names its own fields (OWN_FIELDS), so a
formatter need not sort them out of thirty standard attributes. Handlers, filters and levels
apply as for any other record.
"""

import logging
import time

from aiohttp import web

from kv_api.presentation.http.auth import SESSION_KEY
from kv_api.presentation.http.request_context import route_of

access_logger = logging.getLogger("kv_api.access")
OWN_FIELDS = "_own_fields"  # underscored: never written out as a field itself
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


def log_access(request: web.Request, status: int, elapsed: float, request_id: str) -> None:
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
        "route": route_of(request),
    }
    session = request.get(SESSION_KEY)
    if session is not None:
        own["user_id"] = int(session.user_id)
    now = time.time()
    record = _new_record(logging.LogRecord)
    fields = record.__dict__
    fields.update(_TEMPLATE)
    fields.update(own)
    fields["msg"] = f"{method} {path} {status}"
    fields["created"] = now
    fields["msecs"] = (now - int(now)) * 1000
    fields["relativeCreated"] = (now - _START) * 1000
    fields[OWN_FIELDS] = own
    access_logger.handle(record)
