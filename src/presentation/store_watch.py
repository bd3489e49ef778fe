"""Store fullness: gauges refreshed for each scrape and every few seconds, and a warning log
line while the memtx quota is above KV_STORE_WARN_PERCENT (/ready stays 200: a full store still
serves reads and deletes)."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from kv_api.presentation.http.metrics import Metrics, StoreFigures

log = logging.getLogger("kv_api.store")
POLL_SECONDS = 15.0
WARN_EVERY_SECONDS = 300.0  # while above the threshold, repeat the warning this often
SCRAPE_TIMEOUT = 1.0


class StoreWatch:
    def __init__(
        self,
        connected: Callable[[], bool],
        read: Callable[[], Awaitable[StoreFigures]],
        metrics: Metrics,
        warn_percent: int,
    ) -> None:
        self._connected = connected
        self._read = read
        self._metrics = metrics
        self._warn_percent = warn_percent
        self._warned_at: float | None = None

    async def refresh(self) -> None:
        if not self._connected():
            return
        try:
            async with asyncio.timeout(SCRAPE_TIMEOUT):  # wait_for can swallow a cancel (3.11)
                stats = await self._read()
        except Exception:  # the scrape and the poller go on; /ready reports the outage
            log.debug("store statistics unavailable", exc_info=True)
            return
        self._metrics.store_stats(stats)
        percent = 100.0 * stats.quota_used / stats.quota_size if stats.quota_size else 0.0
        if percent < self._warn_percent:
            self._warned_at = None
            return
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(
                "the store is %.0f%% full (memtx %d of %d bytes; KV_STORE_WARN_PERCENT=%d): "
                "delete data or raise KV_TARANTOOL_MEMORY_MB before writes get 507",
                percent,
                stats.quota_used,
                stats.quota_size,
                self._warn_percent,
            )

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        stopping = False

        async def poll() -> None:
            # the flag too: a cancel lost inside a refresh must not keep the app from stopping
            while True:
                await self.refresh()
                if stopping:
                    return
                await asyncio.sleep(POLL_SECONDS)

        poller = asyncio.create_task(poll())
        yield
        stopping = True
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller


STORE_WATCH = web.AppKey("store_watch", StoreWatch)
