"""Requests in progress, so a shutdown can let them finish before closing connections.

aiohttp's own shutdown closes every connection first and drops any body bytes that arrive
afterwards, so a client still uploading a large batch would lose its request. The edge
middleware counts each request in and out here. Watches would hold a drain for their whole
timeout: they run their waits through `unless_draining`, which ends them when it begins.
"""

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class InFlightRequests:
    def __init__(self) -> None:
        self.count = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = asyncio.Event()

    def started(self) -> None:
        self.count += 1
        if self.count == 1:
            self._idle.clear()

    def finished(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    def stop_waiting(self) -> None:
        """Ends every wait in `unless_draining` now and refuses new ones."""
        self._stopping.set()

    async def unless_draining(self, call: Awaitable[T]) -> T | None:
        """The call's result, or None (the call cancelled) once the drain has begun."""
        if self._stopping.is_set():
            if asyncio.iscoroutine(call):
                call.close()
            return None
        work = asyncio.ensure_future(call)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not work.done():
                work.cancel()
                # finished before returning: the caller may close what the call was using
                await asyncio.wait({work})
        return work.result() if not work.cancelled() else None

    async def drain(self, timeout: float) -> bool:
        """Answer with `Connection: close` from now on; True once no request is running."""
        self.draining = True
        self.stop_waiting()
        if self.count == 0:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True
