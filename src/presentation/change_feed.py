"""The change feed's life in the app: open watches end at once when the server stops (a
graceful shutdown must not wait out a watch timeout), and the retention purge of the log."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

from kv_api.application.ports import ChangeFeed
from kv_api.presentation.http.metrics import Metrics

log = logging.getLogger("kv_api.watch")
T = TypeVar("T")
CHANGES_PURGE_INTERVAL = 1.0
CHANGES_PURGE_BATCH = 500  # log parts per transaction: short enough never to stall Tarantool
CHANGES_PURGE_STEPS = 100  # at most this many transactions before sleeping again


class OpenWatches:
    """Long polls and streams in progress; `close` ends them all (shutdown)."""

    def __init__(self) -> None:
        self.count = 0
        self._closing = asyncio.Event()

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    def close(self) -> None:
        self._closing.set()

    async def until_closed(self, call: Coroutine[Any, Any, T]) -> T | None:
        """The call's result, or None (the call cancelled) once closing."""
        if self._closing.is_set():
            call.close()
            return None
        work = asyncio.ensure_future(call)
        closing = asyncio.ensure_future(self._closing.wait())
        self.count += 1
        try:
            await asyncio.wait({work, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.count -= 1
            closing.cancel()
            if not work.done():
                work.cancel()
        return work.result() if work.done() and not work.cancelled() else None


OPEN_WATCHES = web.AppKey("open_watches", OpenWatches)


async def purge_changes(feed: ChangeFeed, retention: int, metrics: Metrics) -> None:
    """Forgets logged changes older than the retention window, a small step at a time; the
    Lua function does nothing on a read-only instance (a replica)."""
    while True:
        await asyncio.sleep(CHANGES_PURGE_INTERVAL)
        with contextlib.suppress(Exception):
            for _ in range(CHANGES_PURGE_STEPS):
                removed = await feed.purge(time.time() - retention, CHANGES_PURGE_BATCH)
                metrics.changes_purged.inc(removed)
                if removed == 0:
                    break


def retention_context(
    feed: ChangeFeed, retention: int, metrics: Metrics
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def run(app: web.Application) -> AsyncIterator[None]:
        purger = asyncio.create_task(purge_changes(feed, retention, metrics))
        yield
        purger.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await purger

    return run
