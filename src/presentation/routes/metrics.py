from aiohttp import web
from dependency_injector.wiring import Provide, inject

from kv_api.presentation.container import Container
from kv_api.presentation.http.metrics import CONTENT_TYPE, Metrics

routes = web.RouteTableDef()


@routes.get("/metrics")
@inject
async def metrics(
    request: web.Request, registry: Metrics = Provide[Container.metrics]
) -> web.Response:
    return web.Response(body=registry.render(), headers={"Content-Type": CONTENT_TYPE})
