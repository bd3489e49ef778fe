import asyncio
import contextlib
import logging
import time
import warnings
from collections.abc import AsyncIterator

from aiohttp import web

from kv_api.application.users.ensure_user import EnsureUser
from kv_api.infrastructure.settings import Settings
from kv_api.infrastructure.tarantool.stats import read_store_stats
from kv_api.presentation.change_feed import OPEN_WATCHES, OpenWatches, retention_context
from kv_api.presentation.container import Container
from kv_api.presentation.http.auth import Authenticator
from kv_api.presentation.http.edge import PRE_ROUTING, edge_middleware, pre_routing_answers
from kv_api.presentation.http.inflight import InFlightRequests
from kv_api.presentation.injection import bind_routes
from kv_api.presentation.instrumentation import track_storage
from kv_api.presentation.routes import docs, kv, metrics, ops, users, users_face
from kv_api.presentation.routes import watch as watch_routes
from kv_api.presentation.store_watch import STORE_WATCH, StoreWatch

log = logging.getLogger("kv_api.app")
CONTAINER = web.AppKey("container", Container)
IN_FLIGHT = web.AppKey("in_flight", InFlightRequests)
PUBLIC_PATHS = (
    "/api/register",
    "/api/login",
    "/users/register",
    "/users/login",
    "/health",
    "/ready",
    "/metrics",
    "/docs",
    "/openapi.json",
    *docs.ASSET_PATHS,
)
PURGE_INTERVAL = 60.0
# aiohttp answers a longer request line itself, in text/plain, before any middleware runs;
# 64 KiB fits GET /api/keys with the longest prefix (1024 characters, percent-encoded).
MAX_REQUEST_LINE = 64 * 1024

warnings.filterwarnings("ignore", message="It is recommended to use web.RequestKey")


def build_container(settings: Settings) -> Container:
    container = Container(settings=settings)
    container.wire()
    return container


async def _maybe_await(result: object) -> None:
    if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
        await result


async def _purge_expired(container: Container) -> None:
    """Housekeeping: expired revocations and finished login-failure windows."""
    revocations, throttle = container.revocations(), container.throttle()
    while True:
        await asyncio.sleep(PURGE_INTERVAL)
        now = int(time.time())
        with contextlib.suppress(Exception):
            await revocations.purge_expired(now)
            await throttle.purge_stale(now)


EXPIRY_PURGE_INTERVAL = 1.0
EXPIRY_PURGE_BATCH = 500  # pairs per transaction: short enough never to stall Tarantool


async def _purge_expired_pairs(container: Container) -> None:
    """Expired pairs are already invisible; this frees their memory, a small step at a time,
    and logs each as expired for the change feed."""
    kv = container.kv()
    while True:
        await asyncio.sleep(EXPIRY_PURGE_INTERVAL)
        with contextlib.suppress(Exception):
            for _ in range(100):  # at most this many steps before sleeping again
                if await kv.purge_expired(EXPIRY_PURGE_BATCH) < EXPIRY_PURGE_BATCH:
                    break


def _bootstrap_hook(container: Container, settings: Settings):  # type: ignore[no-untyped-def]
    async def create_bootstrap_user() -> None:
        if settings.bootstrap_user is None:
            return
        name, password = settings.bootstrap_user
        if container.password_policy().problems(password, name):
            log.warning("KV_BOOTSTRAP_USER has a weak password: fine for local use only")
        created = await container.ensure_user()(EnsureUser(name, password, enforce_policy=False))
        log.info("bootstrap user %s %s", name, "created" if created else "already exists")

    return create_bootstrap_user


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    container = app[CONTAINER]
    settings: Settings = container.settings()
    await _maybe_await(container.init_resources())
    storage = container.storage()
    storage.on_ready(_bootstrap_hook(container, settings))
    await storage.start(wait=30.0 if storage.managed else settings.connect_timeout)
    purgers = [
        asyncio.create_task(_purge_expired(container)),
        asyncio.create_task(_purge_expired_pairs(container)),
    ]
    yield
    for purger in purgers:
        purger.cancel()
    await storage.stop()
    await _maybe_await(container.shutdown_resources())
    container.unwire()


def _setup_change_feed(
    app: web.Application, container: Container, settings: Settings, in_flight: InFlightRequests
) -> None:
    """Open watches end when the drain starts (serve) or the app shuts down (tests, embedding);
    the retention purge runs after the storage starts and stops before it."""
    watches = app[OPEN_WATCHES] = OpenWatches()
    in_flight.on_drain(watches.close)

    async def end_watches(app: web.Application) -> None:
        watches.close()

    app.on_shutdown.append(end_watches)
    feed, metrics = container.change_feed(), container.metrics()
    app.cleanup_ctx.append(retention_context(feed, settings.changes_retention, metrics))


def create_app(settings: Settings, container: Container | None = None) -> web.Application:
    container = container or build_container(settings)
    authenticate = Authenticator(container.verified_tokens(), PUBLIC_PATHS)
    in_flight = InFlightRequests()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        handler_args={"max_line_size": MAX_REQUEST_LINE},
        middlewares=[
            edge_middleware(container.metrics(), authenticate, in_flight, settings.access_log)
        ],
    )
    app[CONTAINER] = container
    app[IN_FLIGHT] = in_flight
    app[PRE_ROUTING] = pre_routing_answers(container.metrics(), settings.access_log)
    app.add_routes(bind_routes(users.routes, container))
    app.add_routes(bind_routes(users_face.routes, container))
    app.add_routes(bind_routes(kv.routes, container))
    app.add_routes(bind_routes(watch_routes.routes, container))
    app.add_routes(bind_routes(ops.routes, container))
    app.add_routes(bind_routes(metrics.routes, container))
    docs.setup_docs(app, settings)
    app.cleanup_ctx.append(track_storage(container.storage, container.metrics()))
    app.cleanup_ctx.append(_lifecycle)
    _setup_change_feed(app, container, settings, in_flight)
    watch = StoreWatch(
        lambda: container.storage().primary.connected,
        lambda: read_store_stats(container.storage().primary),
        container.metrics(),
        settings.store_warn_percent,
    )
    app[STORE_WATCH] = watch
    app.cleanup_ctx.append(watch.context)  # started after the storage, stopped before it
    return app
