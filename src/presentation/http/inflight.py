"""Requests in progress, so a shutdown can let them finish before closing connections.

aiohttp's own shutdown closes every connection first and drops any body bytes that arrive
afterwards, so a client still uploading a large batch would lose its request.
"""

import asyncio

from aiohttp import web

from presentation.http.errors import Handler


class InFlightRequests:
    def __init__(self) -> None:
        self.count = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.count += 1
        self._idle.clear()
        try:
            response = await handler(request)
            if self.draining:
                response.force_close()
            return response
        finally:
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
