"""The driver: the same batches through asynctnt straight to Tarantool, no HTTP in between.

The Lua call and its arguments are captured from the API's own handlers and repository,
composed by the API's container around a recording client: the driver sends exactly what
the API would send for the same body and session. The arguments are built once; each call
still pays for asynctnt packing them and unpacking the reply, as the API does. For cas1000
each client owns its keys (as each wrk thread does) and only the expected versions change
from call to call: they start at the versions read before and go up by one per win.
"""

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asynctnt
import msgspec
from dependency_injector import providers

from bench.payloads import Batch
from bench.stats import Measurement, percentile
from kv_api.application.kv.commands import ReadBatch, WriteBatch
from kv_api.application.ports import Session, WriteOptions
from kv_api.infrastructure.settings import Settings, TarantoolAddress
from kv_api.presentation.container import Container
from kv_api.presentation.gc_tuning import timed_collection
from kv_api.presentation.housekeeping import Housekeeping

Call = tuple[str, list[Any]]

# The floor of a batch write (bench/lua/packed_replace.lua): defined by the bench, not the API.
FLOOR_FUNCTION = "bench_packed_replace"
FLOOR_SOURCE = Path(__file__).with_name("lua") / "packed_replace.lua"
DEFINE_FLOOR = (
    "local name, source = ... "
    "rawset(_G, name, assert(loadstring(source, '@bench/lua/packed_replace.lua'))())"
)


class _RecordingClient:
    """Stands in for TarantoolClient: keeps each call and answers like an empty store."""

    connected = True

    def __init__(self) -> None:
        self.calls: list[Call] = []

    async def call(self, function: str, args: list[Any]) -> Any:
        self.calls.append((function, args))
        if function == "kv_write_pairs":
            return [len(args[4]), [], 1]  # each pair's size is in the 5th argument
        return []


async def capture_call(batch: Batch, session: Session, settings: Settings) -> Call:
    recorder = _RecordingClient()
    container = Container(settings=settings)
    container.storage.override(providers.Object(SimpleNamespace(primary=recorder, replicas=[])))
    if batch.kind == "read":
        await container.read_batch()(ReadBatch(session, batch.keys))
    else:
        options = WriteOptions(ttl=batch.options.get("ttl"))
        if batch.kind == "cas":
            options = WriteOptions(if_version=dict.fromkeys(batch.items, 0))
        prepared = container.encoder().from_items(batch.items)
        await container.write_batch()(WriteBatch(session, prepared, options))
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


class Caller:
    """One client's calls: the same arguments every time, or for a conditional writer the
    same with its expected versions, which follow its wins."""

    # kv_write_pairs(uid, ver, jti, insert_only, sizes, pairs, ttl, ttls, expected, keep,
    # max_keys, max_bytes)
    EXPECTED = 8

    def __init__(
        self, function: str, args: list[Any], version: int | None = None, keys: Sequence[str] = ()
    ) -> None:
        self.function = function
        self.args = args
        self.version = version
        self.keys = list(keys)  # a conditional writer's keys
        self.conflicts = 0

    def next_args(self) -> list[Any]:
        if self.version is None:
            return self.args
        args = list(self.args)
        keys = self.keys
        args[self.EXPECTED] = [keys, [self.version] * len(keys)]  # [keys, versions]
        return args

    def answered(self, reply: Any) -> None:
        if self.version is None:
            return
        if reply[0] == "conflict":
            self.conflicts += 1
            self.version = int(next(iter(reply[1].values()))[1])
        else:
            self.version += 1


async def _load(
    conn: asynctnt.Connection, callers: list[Caller], seconds: float
) -> tuple[list[float], float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(caller: Caller) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await conn.call(caller.function, caller.next_args())
            latencies.append(time.perf_counter() - started)
            if not len(response) or response[0] is None:
                raise RuntimeError(f"{caller.function} refused the session")
            caller.answered(response[0])
            # as the API's TarantoolClient does: the reply must not wait for the cycle collector
            response.body.clear()

    started = time.perf_counter()
    await asyncio.gather(*(client(caller) for caller in callers))
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


async def _callers(conn: asynctnt.Connection, load: Load) -> list[Caller]:
    if load.batch.kind != "cas":
        function, args = await capture_call(load.batch, load.session, load.settings)
        _check_reply(load.batch, await conn.call(function, args))
        return [Caller(function, args)] * load.concurrency
    callers = []
    for owner in range(load.concurrency):
        batch = load.batch.for_owner(owner)
        function, args = await capture_call(batch, load.session, load.settings)
        read = [*args[:3], batch.keys[:1], 1 << 20]
        rows = (await conn.call("kv_read", read))[0]
        version = (rows[0][3] if len(rows[0]) > 3 else None) or 1 if rows else 0
        caller = Caller(function, args, int(version), batch.keys)
        reply = await conn.call(function, caller.next_args())
        _check_reply(batch, reply)
        caller.answered(reply[0])
        callers.append(caller)
    return callers


def floor_tuples(batch: Batch, user_id: int) -> list[bytes]:
    """The batch's pairs as whole stored tuples, packed here: [owner, key, value, version 1,
    expires_at], the expiry a batch's ttl sets from now."""
    ttl = batch.options.get("ttl")
    expires_at = None if ttl is None else math.ceil(time.time() + ttl)
    encode = msgspec.msgpack.Encoder().encode
    return [encode([user_id, key, value, 1, expires_at]) for key, value in batch.items.items()]


async def _floor_callers(conn: asynctnt.Connection, load: Load) -> list[Caller]:
    await conn.eval(DEFINE_FLOOR, [FLOOR_FUNCTION, FLOOR_SOURCE.read_text()])
    caller = Caller(FLOOR_FUNCTION, [floor_tuples(load.batch, load.session.user_id)])
    _check_reply(load.batch, await conn.call(caller.function, caller.args))
    return [caller] * load.concurrency


async def measure(
    target: DriverTarget, load: Load, server_cpu: Callable[[], float], floor: bool = False
) -> Measurement:
    """`server_cpu` reads Tarantool's CPU seconds, to share out per request. With `floor`, a
    write batch goes to the floor function instead of the API's."""
    conn = await _connect(target)
    collector = Housekeeping([timed_collection()])  # as the API's serve_app does
    collector.start()
    try:
        callers = await (_floor_callers if floor else _callers)(conn, load)
        if load.warmup > 0:
            await _load(conn, callers, load.warmup)
        conflicts = sum(caller.conflicts for caller in set(callers))
        cpu, server = time.process_time(), server_cpu()
        latencies, elapsed = await _load(conn, callers, load.seconds)
        cpu, server = time.process_time() - cpu, server_cpu() - server
        conflicts = sum(caller.conflicts for caller in set(callers)) - conflicts
    finally:
        await collector.stop()
        await conn.disconnect()
    latencies.sort()
    count = max(1, len(latencies))
    return Measurement(
        requests=len(latencies),
        seconds=elapsed,
        batch_size=load.batch.size,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        errors=conflicts,
        non_2xx=conflicts,
        statuses={"409": conflicts} if load.batch.kind == "cas" else None,
        cpu_us=cpu / count * 1e6,
        tarantool_cpu_us=server / count * 1e6,
    )
