"""The store poller stops with the app even when a cancel is lost inside a refresh (Python
3.11's wait_for can swallow one): the app's cleanup must never wait for it."""

import asyncio
import contextlib
from typing import Any

from kv_api.presentation.http.metrics import Metrics
from kv_api.presentation.store_watch import StoreWatch


class _SwallowsOneCancel(StoreWatch):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.entered = asyncio.Event()

    async def refresh(self) -> None:
        self.entered.set()
        with contextlib.suppress(asyncio.CancelledError):  # as a racing wait_for can do
            await asyncio.sleep(0.2)


async def test_the_poller_stops_even_when_a_refresh_swallows_the_cancel() -> None:
    async def never() -> Any:
        raise AssertionError("not called")

    watch = _SwallowsOneCancel(lambda: True, never, Metrics(), 85)
    context = watch.context(None)  # type: ignore[arg-type]
    await context.__anext__()
    await asyncio.wait_for(watch.entered.wait(), 5)  # the poller is inside its first refresh

    async def cleanup() -> None:
        with contextlib.suppress(StopAsyncIteration):
            await context.__anext__()

    task = asyncio.create_task(cleanup())
    done, _ = await asyncio.wait({task}, timeout=2.0)
    task.cancel()
    assert task in done, "the app's cleanup waited on the store poller"
