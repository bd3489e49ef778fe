"""Work the app does on a timer: purges of what has expired, the store-fullness check and the
gauges. One runner starts every task with the app and stops them before the storage closes;
each task is a small function run every so many seconds."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from kv_api.application.ports import (
    ChangeFeed,
    KeyValueRepository,
    TokenRevocations,
    UserRepository,
)
from kv_api.domain.quotas import NearQuota
from kv_api.presentation.http.metrics import Metrics, StoreFigures

log = logging.getLogger("kv_api.housekeeping")
SESSIONS_PURGE_EVERY = 60.0  # revocations and login counters outlive their use by this much
PURGE_EVERY = 1.0  # expired pairs and old changes
GAUGES_EVERY, STORE_CHECK_EVERY = 1.0, 15.0
PURGE_BATCH = 500  # rows per transaction: short enough never to stall Tarantool
PURGE_STEPS = 100  # at most this many transactions before sleeping again
STORE_WARN_EVERY = 300.0  # while the store stays too full, repeat the warning this often
STATS_TIMEOUT = 1.0


@dataclass(frozen=True, slots=True)
class Task:
    name: str
    every: float
    run: Callable[[], Awaitable[object]]
    at_start: bool = False  # run once as soon as the app starts, then every `every` seconds


class Housekeeping:
    def __init__(self, tasks: Sequence[Task] = ()) -> None:
        self.tasks = list(tasks)
        self._stopping = False
        self._loops: list[asyncio.Task[None]] = []

    def add(self, task: Task) -> None:
        self.tasks.append(task)

    def start(self) -> None:
        self._stopping = False
        self._loops = [asyncio.create_task(self._loop(t), name=t.name) for t in self.tasks]

    async def stop(self) -> None:
        # the flag too: a cancel lost inside a task's run must not keep the app from stopping
        self._stopping = True
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        """A cleanup context: the tasks run while the app does."""
        self.start()
        yield
        await self.stop()

    async def _loop(self, task: Task) -> None:
        if not task.at_start:
            await asyncio.sleep(task.every)
        while not self._stopping:
            try:
                await task.run()
            except Exception:  # storage down, for example: /ready says so; try again later
                log.debug("housekeeping task %s failed", task.name, exc_info=True)
            await asyncio.sleep(task.every)


class Throttles(Protocol):
    """What the session purge needs of the login throttle."""

    async def purge_stale(self, now: int) -> int: ...


class StoreStatus(Protocol):
    """What the gauges need of the storage."""

    def connections(self) -> list[tuple[str, int, bool]]:
        """(role, index, connected) of each Tarantool connection, the primary first."""
        ...

    async def stats(self) -> StoreFigures: ...


async def in_steps(
    step: Callable[[], Awaitable[int]], count: Callable[[int], None], batch: int = PURGE_BATCH
) -> None:
    """A purge a small transaction at a time, until a step finds less than a whole batch."""
    for _ in range(PURGE_STEPS):
        done = await step()
        count(done)
        if done < batch:
            return


class Gauges:
    """The connection gauges (every second: under `--workers N` a scrape reads every worker's
    last value), the store's figures, a warning line while the memtx quota is above the
    threshold (/ready stays 200: a full store still serves reads and deletes), and the number
    of users at or near their quota."""

    def __init__(
        self,
        store: StoreStatus,
        metrics: Metrics,
        warn_percent: int,
        near_quota: Callable[[], Awaitable[NearQuota]] | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._warn_percent = warn_percent
        self._warned_at: float | None = None
        self._near_quota = near_quota

    async def quotas(self) -> None:
        if self._near_quota is None or not self._store.connections()[0][2]:
            return
        async with asyncio.timeout(STATS_TIMEOUT):
            self._metrics.users_near_quota(await self._near_quota())

    async def connections(self) -> None:
        for role, index, connected in self._store.connections():
            self._metrics.connection_state(role, index, connected)

    async def fullness(self) -> None:
        if not self._store.connections()[0][2]:
            return
        async with asyncio.timeout(STATS_TIMEOUT):  # wait_for can swallow a cancel (3.11)
            stats = await self._store.stats()
        self._metrics.store_stats(stats)
        percent = 100.0 * stats.quota_used / stats.quota_size if stats.quota_size else 0.0
        if percent < self._warn_percent:
            self._warned_at = None
            return
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= STORE_WARN_EVERY:
            self._warned_at = now
            log.warning(
                "the store is %.0f%% full (memtx %d of %d bytes; KV_STORE_WARN_PERCENT=%d): "
                "delete data or raise KV_TARANTOOL_MEMORY_MB before writes get 507",
                percent,
                stats.quota_used,
                stats.quota_size,
                self._warn_percent,
            )

    async def refresh(self) -> None:
        """For a scrape: the figures now, or the last ones when the store does not answer."""
        await self.connections()
        with contextlib.suppress(Exception):
            await self.fullness()
        with contextlib.suppress(Exception):
            await self.quotas()


def build_housekeeping(
    kv: KeyValueRepository,
    users: UserRepository,
    feed: ChangeFeed,
    revocations: TokenRevocations,
    throttles: Throttles,
    gauges: Gauges,
    metrics: Metrics,
    changes_retention: int,
    account_purge_batch: int,
) -> Housekeeping:
    async def sessions() -> None:
        now = int(time.time())
        await revocations.purge_expired(now)
        await throttles.purge_stale(now)

    async def expired_pairs() -> None:
        for _ in range(PURGE_STEPS):
            step = await kv.purge_expired(PURGE_BATCH)
            metrics.keys_expired.inc(step.expired)
            if not step.more:
                return

    async def deleted_accounts() -> None:
        step = account_purge_batch
        await in_steps(lambda: users.purge_deleted(step), metrics.account_rows_purged.inc, step)

    async def old_changes() -> None:
        before = time.time() - changes_retention
        await in_steps(lambda: feed.purge(before, PURGE_BATCH), metrics.changes_purged.inc)

    return Housekeeping(
        [
            Task("purge revoked tokens and stale counters", SESSIONS_PURGE_EVERY, sessions),
            Task("purge expired pairs", PURGE_EVERY, expired_pairs),
            Task("purge deleted accounts' data", PURGE_EVERY, deleted_accounts),
            Task("purge changes past retention", PURGE_EVERY, old_changes),
            Task("connection gauges", GAUGES_EVERY, gauges.connections, at_start=True),
            Task("store fullness", STORE_CHECK_EVERY, gauges.fullness, at_start=True),
            Task("users near their quota", STORE_CHECK_EVERY, gauges.quotas, at_start=True),
        ]
    )


HOUSEKEEPING = web.AppKey("housekeeping", Housekeeping)
