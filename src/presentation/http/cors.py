"""CORS through aiohttp-cors, for the origins of KV_CORS_ORIGINS only: their preflights of the
API's routes are answered, and the answers to their requests carry the headers that let the
page read them. Credentials are never allowed: a page sends its bearer token itself, and the
API has no cookie a browser could add on its own."""

from collections.abc import Collection

import aiohttp_cors
from aiohttp import web

ALLOWED_HEADERS = ("Authorization", "Content-Type", "Last-Event-ID", "X-Request-ID")
EXPOSED_HEADERS = ("X-Request-ID", "Retry-After")
MAX_AGE = 600  # seconds a browser may reuse a preflight's answer


def allow_cross_origin(
    app: web.Application, origins: Collection[str], paths: Collection[str]
) -> None:
    """CORS on the routes of `paths` (route templates) for `origins` (as browsers send them).
    A preflight from another origin, for a method the path does not serve or with a header
    not allowed is refused (403); requests from other origins get no CORS header at all."""
    # aiohttp-cors leaves ResourceOptions' constructor unannotated
    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
        allow_credentials=False,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        max_age=MAX_AGE,
    )
    cors = aiohttp_cors.setup(app, defaults=dict.fromkeys(origins, options))
    for route in list(app.router.routes()):
        if route.resource is not None and route.resource.canonical in paths:
            cors.add(route)
