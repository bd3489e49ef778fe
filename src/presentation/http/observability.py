"""The access log: one INFO line per request on the `kv_api.access` logger, with the request's
id, method, route and user in the record itself (the request context filter then adds
nothing)."""

import logging

from aiohttp import web

from kv_api.presentation.http.auth import SESSION_KEY
from kv_api.presentation.http.request_context import route_of

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
    fields = {
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
    access_logger.info("%s %s %s", request.method, path, status, extra=fields)
