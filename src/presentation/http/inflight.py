"""Requests in progress, so a shutdown can let them finish before closing connections.

aiohttp's own shutdown closes every connection first and drops any body bytes that arrive
afterwards, so a client still uploading a large batch would lose its request. The edge
middleware counts each request in and out here.
"""

import asyncio
from collections.abc import Callable


class InFlightRequests:
    def __init__(self) -> None:
        self.count = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._on_drain: list[Callable[[], None]] = []

    def on_drain(self, callback: Callable[[], None]) -> None:
        """Called when the drain begins: requests that would wait long (watches) end now."""
        self._on_drain.append(callback)

    def started(self) -> None:
        self.count += 1
        if self.count == 1:
            self._idle.clear()

    def finished(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def drain(self, timeout: float) -> bool:
        """Answer with `Connection: close` from now on; True once no request is running."""
        self.draining = True
        for callback in self._on_drain:
            callback()
        if self.count == 0:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True
