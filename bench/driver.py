"""The floor: the same batches through asynctnt straight to Tarantool, no HTTP in between.

The Lua call and its arguments are captured from the API's own handlers and repository,
composed by the API's container around a recording client: the driver sends exactly what
the API would send for the same body and session. The arguments are built once; each call
still pays for asynctnt packing them and unpacking the reply, as the API does.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import asynctnt
from dependency_injector import providers

from bench.payloads import Batch
from bench.stats import Measurement, percentile
from kv_api.application.kv.commands import ReadBatch, WriteBatch
from kv_api.application.ports import Session
from kv_api.domain.keys import WriteMode
from kv_api.infrastructure.settings import Settings, TarantoolAddress
from kv_api.presentation.container import Container
from kv_api.presentation.gc_tuning import collect_periodically

Call = tuple[str, list[Any]]


class _RecordingClient:
    """Stands in for TarantoolClient: keeps each call and answers like an empty store."""

    connected = True

    def __init__(self) -> None:
        self.calls: list[Call] = []

    async def call(self, function: str, args: list[Any]) -> Any:
        self.calls.append((function, args))
        if function == "kv_write":
            return [len(args[-1]), []]
        return []


async def capture_call(batch: Batch, session: Session, settings: Settings) -> Call:
    recorder = _RecordingClient()
    container = Container(settings=settings)
    container.storage.override(providers.Object(SimpleNamespace(primary=recorder, replicas=[])))
    if batch.kind == "read":
        await container.read_batch()(ReadBatch(session, batch.keys))
    else:
        await container.write_batch()(WriteBatch(session, batch.items, WriteMode.UPSERT))
    if len(recorder.calls) != 1:
        raise RuntimeError(f"{batch.name}: expected one storage call, saw {recorder.calls!r:.200}")
    return recorder.calls[0]


@dataclass(frozen=True)
class DriverTarget:
    address: TarantoolAddress
    user: str
    password: str


async def _connect(target: DriverTarget) -> asynctnt.Connection:
    conn = asynctnt.Connection(
        host=target.address.host,
        port=target.address.port,
        username=target.user,
        password=target.password,
        fetch_schema=False,
        auto_refetch_schema=False,
        request_timeout=30.0,
    )
    await conn.connect()
    return conn


async def _load(
    conn: asynctnt.Connection, function: str, args: list[Any], concurrency: int, seconds: float
) -> tuple[list[float], float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await conn.call(function, args)
            latencies.append(time.perf_counter() - started)
            if not len(response) or response[0] is None:
                raise RuntimeError(f"{function} refused the session")
            # as the API's TarantoolClient does: the reply must not wait for the cycle collector
            response.body.clear()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


def _check_reply(batch: Batch, response: Any) -> None:
    reply = response[0] if len(response) else None
    if batch.kind == "read":
        done = len(reply) if isinstance(reply, list) else reply
    else:
        done = reply[0] if isinstance(reply, list) else reply
    if done != batch.size:
        raise RuntimeError(
            f"{batch.name} through the driver: {batch.size} expected, got {reply!r:.200}"
        )


@dataclass(frozen=True)
class Load:
    batch: Batch
    session: Session
    settings: Settings
    concurrency: int
    seconds: float
    warmup: float


async def measure(target: DriverTarget, load: Load, server_cpu: Callable[[], float]) -> Measurement:
    """`server_cpu` reads Tarantool's CPU seconds, to share out per request."""
    function, args = await capture_call(load.batch, load.session, load.settings)
    conn = await _connect(target)
    collector = asyncio.create_task(collect_periodically())  # as the API's serve_app does
    try:
        _check_reply(load.batch, await conn.call(function, args))
        if load.warmup > 0:
            await _load(conn, function, args, load.concurrency, load.warmup)
        cpu, server = time.process_time(), server_cpu()
        latencies, elapsed = await _load(conn, function, args, load.concurrency, load.seconds)
        cpu, server = time.process_time() - cpu, server_cpu() - server
    finally:
        collector.cancel()
        await conn.disconnect()
    latencies.sort()
    count = max(1, len(latencies))
    return Measurement(
        requests=len(latencies),
        seconds=elapsed,
        batch_size=load.batch.size,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        cpu_us=cpu / count * 1e6,
        tarantool_cpu_us=server / count * 1e6,
    )
