import hmac

from aiohttp import web
from dependency_injector.wiring import Provide, inject

from kv_api.presentation.container import Container
from kv_api.presentation.http.metrics import CONTENT_TYPE, Metrics
from kv_api.presentation.store_watch import STORE_WATCH

routes = web.RouteTableDef()


def _scrape_allowed(request: web.Request, token: str | None) -> bool:
    if token is None:
        return True
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    # constant time: the comparison must not tell a guesser how many bytes were right
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())


@routes.get("/metrics")
@inject
async def metrics(
    request: web.Request,
    registry: Metrics = Provide[Container.metrics],
    token: str | None = Provide[Container.settings.provided.metrics_token],
) -> web.Response:
    if not _scrape_allowed(request, token):
        raise web.HTTPUnauthorized(reason="a valid scrape token (KV_METRICS_TOKEN) is required")
    watch = request.app.get(STORE_WATCH)
    if watch is not None:
        await watch.refresh()
    return web.Response(body=registry.render(), headers={"Content-Type": CONTENT_TYPE})
