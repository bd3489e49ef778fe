"""Operations: /health, /ready and /metrics."""

import hmac
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web
from marshmallow import fields, validate

from kv_api.presentation.http.errors import error_body
from kv_api.presentation.http.json import json_response
from kv_api.presentation.http.metrics import CONTENT_TYPE, Metrics
from kv_api.presentation.routes.contract import JSON, Answer, Operation, operation
from kv_api.presentation.routes.fields import ErrorDetail, Lenient

TAG = "ops"
_UNAVAILABLE = error_body("storage_unavailable", "tarantool is not answering")["error"]


class Readiness(Protocol):
    async def ready(self) -> bool: ...


class HealthResponse(Lenient):
    status = fields.String(required=True, validate=validate.OneOf(["ok"]))


class ReadyResponse(Lenient):
    status = fields.String(required=True, validate=validate.OneOf(["ready", "unavailable"]))
    error = fields.Nested(ErrorDetail)


NOT_READY = Answer(
    "NotReady",
    503,
    "Tarantool is not answering",
    {"status": "unavailable", "error": _UNAVAILABLE},
    schema=ReadyResponse,
    retry_after=True,
)


def scrape_allowed(request: web.Request, token: str | None) -> bool:
    if token is None:
        return True
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    # constant time: the comparison must not tell a guesser how many bytes were right
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())


class OpsEndpoints:
    def __init__(
        self,
        storage: Readiness,
        metrics: Metrics,
        scrape_token: str | None,
        refresh_gauges: Callable[[], Awaitable[None]],
    ) -> None:
        self._storage = storage
        self._metrics = metrics
        self._scrape_token = scrape_token
        self._refresh_gauges = refresh_gauges

    @operation(
        Operation(
            "get",
            "/health",
            "health",
            "Liveness",
            TAG,
            "the process is alive",
            content=(JSON, HealthResponse),
            public=True,
        )
    )
    async def health(self, request: web.Request) -> web.Response:
        return json_response({"status": "ok"})

    @operation(
        Operation(
            "get",
            "/ready",
            "ready",
            "Readiness: Tarantool answers",
            TAG,
            "ready to serve",
            content=(JSON, ReadyResponse),
            errors=(NOT_READY,),
            public=True,
        )
    )
    async def ready(self, request: web.Request) -> web.Response:
        if await self._storage.ready():
            return json_response({"status": "ready"})
        body = {"status": "unavailable", "error": _UNAVAILABLE}
        return json_response(body, status=503, headers={"Retry-After": "1"})

    @operation(
        Operation(
            "get",
            "/metrics",
            "metrics",
            "Prometheus metrics",
            TAG,
            "Prometheus text format",
            content=("text/plain", {"type": "string"}),
            errors=(401,),  # only when KV_METRICS_TOKEN is set
            public=True,
        )
    )
    async def metrics(self, request: web.Request) -> web.Response:
        if not scrape_allowed(request, self._scrape_token):
            raise web.HTTPUnauthorized(reason="a valid scrape token (KV_METRICS_TOKEN) is required")
        await self._refresh_gauges()
        return web.Response(body=self._metrics.render(), headers={"Content-Type": CONTENT_TYPE})
