"""Requests in progress, so a shutdown can let them finish before closing connections.

aiohttp's own shutdown closes every connection first and drops any body bytes that arrive
afterwards, so a client still uploading a large batch would lose its request. The edge
middleware counts each request in and out here.
"""

import asyncio


class InFlightRequests:
    def __init__(self) -> None:
        self.count = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()

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
        if self.count == 0:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True
