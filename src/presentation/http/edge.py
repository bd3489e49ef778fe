"""The one middleware every request passes: request id, in-flight count, authentication, the
caller's share of the requests in flight, errors rendered as JSON, hardening headers, then
metrics and the access log.

One middleware instead of a chain of five: each aiohttp middleware layer costs a coroutine
and a wrapper per request, and on small batches this stack was the largest cost after
aiohttp itself (`make bench`, read10).
"""

import asyncio
from time import perf_counter

from aiohttp import web
from aiohttp.typedefs import Middleware

from kv_api.application.errors import TooManyInFlight
from kv_api.presentation.http.auth import Authenticator
from kv_api.presentation.http.errors import Handler, response_for
from kv_api.presentation.http.inflight import InFlightRequests
from kv_api.presentation.http.limits import Refused
from kv_api.presentation.http.metrics import Metrics
from kv_api.presentation.http.observability import log_access
from kv_api.presentation.http.request_context import (
    REQUEST_ID_HEADER,
    UNMATCHED,
    enter,
    leave,
    request_id_for,
)
from kv_api.presentation.http.security_headers import security_headers_for
from kv_api.presentation.http.user_share import UserShare

CLIENT_CLOSED = 499  # nginx's code for a client that went away before the answer
PRE_ROUTING: web.AppKey[Refused] = web.AppKey("pre_routing")  # read by the server (protocol.py)


def stamp(response: web.StreamResponse, request_id: str, path: str) -> None:
    """The request id and the hardening headers (defaults: a handler's own value wins)."""
    headers = response.headers
    headers[REQUEST_ID_HEADER] = request_id
    for name, value in security_headers_for(path):
        headers.setdefault(name, value)


def pre_routing_answers(metrics: Metrics, access_log: bool) -> Refused:
    """What the middleware below does for every answer, for the edge limits' refusals
    (limits.py), which come before routing and so before any middleware: the request id,
    the hardening headers, metrics and the access log, under the route `unmatched`."""
    observe = metrics.observe_request

    def finished(
        request: web.BaseRequest, response: web.StreamResponse, started: float
    ) -> web.StreamResponse:
        assert isinstance(request, web.Request)  # the app's server makes only these
        request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER))
        stamp(response, request_id, request.path)
        elapsed = perf_counter() - started
        observe(None, request.method, response.status, elapsed)
        if access_log:
            log_access(request, response.status, elapsed, request_id, UNMATCHED)
        return response

    return finished


def edge_middleware(
    metrics: Metrics,
    authenticate: Authenticator,
    in_flight: InFlightRequests,
    access_log: bool,
    share: UserShare,
) -> Middleware:
    observe = metrics.observe_request

    @web.middleware
    async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = perf_counter()
        request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER))
        context = enter(request_id, request)
        in_flight.started()
        status, holder = 500, None
        try:
            try:
                unrouted = request.match_info.http_exception
                if unrouted is not None:  # 404 and 405 before authentication
                    raise unrouted
                if not authenticate.known(request):
                    await authenticate.verify(request)
                try:
                    holder = share.enter(request)
                except TooManyInFlight:
                    # answered after its Retry-After, or at once when the shutdown drain begins
                    await in_flight.unless_draining(asyncio.sleep(share.hold))
                    raise
                response = await handler(request)
            except asyncio.CancelledError:
                status = CLIENT_CLOSED
                raise
            except Exception as exc:
                error = response_for(exc)
                if error is None:  # a redirect: aiohttp sends it
                    assert isinstance(exc, web.HTTPException)
                    status = exc.status
                    exc.headers[REQUEST_ID_HEADER] = request_id
                    raise
                response = error
            status = response.status
            if not response.prepared:
                stamp(response, request_id, request.path)
                if in_flight.draining:
                    response.force_close()
            return response
        finally:
            if holder is not None:
                share.leave(holder)
            elapsed = perf_counter() - started
            observe(request.match_info.route.resource, request.method, status, elapsed)
            if access_log:
                log_access(request, status, elapsed, request_id)
            leave(context)
            in_flight.finished()

    return edge
