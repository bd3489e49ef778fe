"""The access log: one INFO line per request on the `kv_api.access` logger, with the request's
id, method, route and user in the line itself.

With logging as `kv-api serve` sets it up (one JSON stream), the line is written straight to
that stream under its handler's lock, the same line a record would give: a LogRecord and the
handler chain cost more than half of a small read's per-request work of its own
(docs/decisions/016). Any other set-up (tests capturing records, an application embedding
ours) gets records, through the usual levels, handlers and filters."""

import logging
import time
from typing import Any

from aiohttp import web

from kv_api.presentation.http.auth import SESSION_KEY
from kv_api.presentation.http.request_context import route_of
from kv_api.presentation.logs import json_line, serving_json_handler

access_logger = logging.getLogger("kv_api.access")


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
    fields: dict[str, Any] = {
        "path": path,
        "status": status,
        "duration_ms": round(elapsed * 1000, 3),
        "remote": request.remote,
        "request_id": request_id,
        "method": request.method,
        "route": route_of(request) if route is None else route,
    }
    session = request.get(SESSION_KEY)
    if session is not None:
        fields["user_id"] = int(session.user_id)
    handler = serving_json_handler(access_logger)
    if handler is None:
        access_logger.info("%s %s %s", request.method, path, status, extra=fields)
        return
    message = f"{request.method} {path} {status}"
    line = json_line(time.time(), "info", access_logger.name, message, fields)
    with handler.lock:  # type: ignore[union-attr]
        handler.stream.write(line + handler.terminator)
