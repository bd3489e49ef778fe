from typing import Protocol

from aiohttp import web
from dependency_injector.wiring import Provide, inject

from kv_api.presentation.container import Container
from kv_api.presentation.http.json import json_response

routes = web.RouteTableDef()


class Readiness(Protocol):
    async def ready(self) -> bool: ...


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/ready")
@inject
async def ready(
    request: web.Request, storage: Readiness = Provide[Container.storage]
) -> web.Response:
    if await storage.ready():
        return json_response({"status": "ready"})
    return json_response(
        {
            "status": "unavailable",
            "error": {"code": "storage_unavailable", "message": "tarantool is not answering"},
        },
        status=503,
        headers={"Retry-After": "1"},
    )
