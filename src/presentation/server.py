"""Process model: one API process, or a supervisor with N workers sharing the port."""

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys

from aiohttp import web

from kv_api.infrastructure.security.tokens import load_or_create_secret
from kv_api.infrastructure.settings import Settings, StartupError, default_hash_workers
from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.infrastructure.tarantool.managed import ManagedTarantool
from kv_api.presentation.app import IN_FLIGHT, create_app
from kv_api.presentation.gc_tuning import timed_collection, tune_for_serving
from kv_api.presentation.housekeeping import HOUSEKEEPING
from kv_api.presentation.http.inflight import InFlightRequests
from kv_api.presentation.http.limits import EdgeLimits
from kv_api.presentation.http.metrics import MULTIPROC_ENV, fresh_multiprocess_dir, worker_exited
from kv_api.presentation.http.protocol import EdgeAppRunner

log = logging.getLogger("kv_api.server")
_CANCEL_GRACE = 1.0


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def serve_app(settings: Settings, reuse_port: bool = False) -> None:
    stop = _stop_event()
    app = create_app(settings)
    in_flight = app[IN_FLIGHT]
    app[HOUSEKEEPING].add(timed_collection())
    runner = EdgeAppRunner(
        app,
        _edge_limits(settings),
        access_log=None,  # the edge middleware writes it (KV_ACCESS_LOG)
        # a client that goes away ends its request: a watch waiting for it gives its slot back
        handler_cancellation=True,
        handle_signals=False,
        shutdown_timeout=_CANCEL_GRACE,  # after our own drain, only stragglers are left
    )
    try:
        # inside the try: a failed start still runs the cleanup contexts that did start
        await runner.setup()
        site = web.TCPSite(runner, settings.host, settings.port, reuse_port=reuse_port)
        try:
            await site.start()
        except OSError as exc:
            raise StartupError(
                f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
            ) from None
        tune_for_serving()
        log.info(
            "serving on http://%s:%s", settings.host, settings.port, extra={"pid": os.getpid()}
        )
        await stop.wait()
        await _drain(site, in_flight, settings.shutdown_timeout)
    finally:
        await runner.cleanup()
    log.info("stopped")


def _edge_limits(settings: Settings) -> EdgeLimits:
    return EdgeLimits(
        max_body_bytes=settings.max_body_bytes,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        keepalive_timeout=settings.keepalive_timeout,
        max_connections=settings.max_connections,
        max_header_bytes=settings.max_header_bytes,
    )


async def _drain(site: web.TCPSite, in_flight: InFlightRequests, timeout: float) -> None:
    """Stop accepting, then give running requests (and uploads) up to `timeout` to finish."""
    await site.stop()
    log.info("shutting down: finishing %d in-flight requests", in_flight.count)
    if not await in_flight.drain(timeout):
        log.warning("%d requests still running after %.1fs; cancelling", in_flight.count, timeout)


async def supervise_workers(settings: Settings, workers: int) -> None:
    stop = _stop_event()
    env = dict(os.environ, KV_WORKER="1")
    env[MULTIPROC_ENV] = metrics_dir = fresh_multiprocess_dir()
    env["KV_JWT_SECRET"] = load_or_create_secret(settings.jwt_secret, settings.data_dir)
    env.setdefault("KV_HASH_WORKERS", str(default_hash_workers(processes=workers)))
    # the default limit of waiting watches is shared by the workers, so their sum stays
    # well below Tarantool's net_msg_max whatever N; an explicit value is per worker
    env.setdefault("KV_MAX_WATCHES", str(max(1, settings.max_watches // workers)))
    managed = ManagedTarantool(settings) if settings.embedded else None
    if managed is not None:
        await managed.start()
        creds = managed.credentials
        env.update(
            KV_TARANTOOL_URI=f"{creds.address.host}:{creds.address.port}",
            KV_TARANTOOL_USER=creds.user,
            KV_TARANTOOL_PASSWORD=creds.password,
        )
    procs = [await _spawn_worker(env) for _ in range(workers)]
    watchers = [asyncio.create_task(_keep_alive(i, procs, env, stop)) for i in range(workers)]
    await stop.wait()
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    await asyncio.gather(*(p.wait() for p in procs))
    for watcher in watchers:
        watcher.cancel()
    if managed is not None:
        await _checkpoint(managed)
        await managed.stop()
    shutil.rmtree(metrics_dir, ignore_errors=True)


async def _spawn_worker(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kv_api.presentation.cli", "serve", env=env
    )


async def _keep_alive(
    index: int, procs: list[asyncio.subprocess.Process], env: dict[str, str], stop: asyncio.Event
) -> None:
    delay = 0.5
    while True:
        started = asyncio.get_running_loop().time()
        code = await procs[index].wait()
        if stop.is_set():
            return
        worker_exited(procs[index].pid, env[MULTIPROC_ENV])
        if asyncio.get_running_loop().time() - started > 30:
            delay = 0.5
        log.error("worker %s exited with %s; restarting in %.1fs", procs[index].pid, code, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)
        procs[index] = await _spawn_worker(env)


async def _checkpoint(managed: ManagedTarantool) -> None:
    creds = managed.credentials
    client = TarantoolClient(creds.address, creds.user, creds.password, 3.0, 30.0)
    if await client.wait_connected(3.0):
        with contextlib.suppress(Exception):
            await client.eval("box.snapshot()", [])
    await client.close()


def run(settings: Settings, workers: int) -> None:
    worker = os.environ.get("KV_WORKER") == "1"
    main = (
        supervise_workers(settings, workers)
        if workers > 1 and not worker
        else serve_app(settings, worker)
    )
    loop = new_event_loop()
    try:
        loop.run_until_complete(main)
    finally:
        _cancel_leftovers(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Tasks still pending once the server has stopped (aiohttp's handler of a connection the
    client closed while its refused body was being drained) are cancelled and awaited, as
    asyncio.run does, instead of being destroyed pending with an error in the log."""
    leftovers = asyncio.all_tasks(loop)
    for task in leftovers:
        task.cancel()
    if leftovers:
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
