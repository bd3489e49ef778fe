"""Outermost middleware: request id, metrics and the access log, after errors are rendered."""

import asyncio
import logging
from time import perf_counter

from aiohttp import web
from aiohttp.typedefs import Middleware

from presentation.http.errors import Handler
from presentation.http.metrics import Metrics
from presentation.http.request_context import REQUEST_ID_HEADER, enter, leave, request_id_for

access_log = logging.getLogger("kv_api.access")
CLIENT_CLOSED = 499  # nginx's code for a client that went away before the answer


def observe_middleware(metrics: Metrics, log_access: bool) -> Middleware:
    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = perf_counter()
        request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER))
        token = enter(request_id, request)
        status = 500
        try:
            response = await handler(request)
            status = response.status
            if not response.prepared:
                response.headers[REQUEST_ID_HEADER] = request_id
            return response
        except web.HTTPException as exc:
            status = exc.status
            exc.headers[REQUEST_ID_HEADER] = request_id
            raise
        except asyncio.CancelledError:
            status = CLIENT_CLOSED
            raise
        finally:
            elapsed = perf_counter() - started
            metrics.observe_request(
                request.match_info.route.resource, request.method, status, elapsed
            )
            if log_access and access_log.isEnabledFor(logging.INFO):
                _log_access(request, status, elapsed)
            leave(token)

    return observe


def _log_access(request: web.Request, status: int, elapsed: float) -> None:
    # the percent-encoded path: no query string (it may hold key names), no injected newlines
    path = request.rel_url.raw_path
    access_log.info(
        "%s %s %s",
        request.method,
        path,
        status,
        extra={
            "path": path,
            "status": status,
            "duration_ms": round(elapsed * 1000, 3),
            "remote": request.remote,
        },
    )
