"""The app factory: the edge, the route table and the app's lifetime, from the container."""

import asyncio
import logging
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from kv_api.application.users.ensure_user import EnsureUser
from kv_api.infrastructure.settings import Settings
from kv_api.presentation.container import Container
from kv_api.presentation.housekeeping import HOUSEKEEPING
from kv_api.presentation.http.cors import allow_cross_origin
from kv_api.presentation.http.edge import PRE_ROUTING, edge_middleware, pre_routing_answers
from kv_api.presentation.http.inflight import InFlightRequests
from kv_api.presentation.routes import table

log = logging.getLogger("kv_api.app")
CONTAINER = web.AppKey("container", Container)
IN_FLIGHT = web.AppKey("in_flight", InFlightRequests)
# aiohttp answers a longer request line itself, in text/plain, before any middleware runs;
# 64 KiB fits GET /api/keys with the longest prefix (1024 characters, percent-encoded).
MAX_REQUEST_LINE = 64 * 1024

warnings.filterwarnings("ignore", message="It is recommended to use web.RequestKey")


async def _maybe_await(result: object) -> None:
    if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
        await result


def _bootstrap_hook(container: Container, settings: Settings) -> Callable[[], Awaitable[None]]:
    async def create_bootstrap_user() -> None:
        if settings.bootstrap_user is None:
            return
        name, password = settings.bootstrap_user
        if container.password_policy().problems(password, name):
            log.warning("KV_BOOTSTRAP_USER has a weak password: fine for local use only")
        created = await container.ensure_user()(EnsureUser(name, password, enforce_policy=False))
        log.info("bootstrap user %s %s", name, "created" if created else "already exists")

    return create_bootstrap_user


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    """Resources and storage up before the first request, down after the last."""
    container = app[CONTAINER]
    settings: Settings = container.settings()
    await _maybe_await(container.init_resources())
    storage = container.storage()
    storage.on_ready(_bootstrap_hook(container, settings))
    await storage.start(wait=30.0 if storage.managed else settings.connect_timeout)
    yield
    await storage.stop()
    await _maybe_await(container.shutdown_resources())


def create_app(settings: Settings, container: Container | None = None) -> web.Application:
    container = container or Container(settings=settings)
    in_flight = container.in_flight()
    metrics = container.metrics()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        handler_args={"max_line_size": MAX_REQUEST_LINE},
        middlewares=[
            edge_middleware(
                metrics,
                container.authenticator(),
                in_flight,
                settings.access_log,
                container.user_share(),
            )
        ],
    )
    app[CONTAINER] = container
    app[IN_FLIGHT] = in_flight
    app[PRE_ROUTING] = pre_routing_answers(metrics, settings.access_log)
    app.add_routes(table.bind(container.endpoints()))
    if settings.cors_origins:  # with none, no preflight route and no per-answer hook
        allow_cross_origin(app, settings.cors_origins, table.api_routes())
    housekeeping = app[HOUSEKEEPING] = container.housekeeping()
    # cleanup contexts start in order and stop in reverse: the tasks run while storage is up
    app.cleanup_ctx.append(_lifetime)
    app.cleanup_ctx.append(housekeeping.context)

    async def end_waits(app: web.Application) -> None:  # tests and embedders shut down so
        in_flight.stop_waiting()

    app.on_shutdown.append(end_waits)
    return app
