"""aiohttp's server, subclassed where it offers hooks: JSON answers for parser errors, a cap on
open connections, and timeouts for slow headers and bodies (aiohttp has only the idle one).

`EdgeAppRunner` is `web.AppRunner` with these in place; `serve_app` uses it.

The only module that touches aiohttp's internals. aiohttp is pinned to the minor version they
were read from (pyproject.toml), and tests/unit/test_aiohttp_internals.py checks each one
against the installed aiohttp, naming what changed:
- `web.Server._kwargs` (the handler arguments `AppRunner` passes on) and `web.Server._loop`;
- `RequestHandler._loop`, `._request_count` (requests parsed on the connection so far),
  `._messages` (the parsed requests not yet handled, as (message, payload) pairs),
  `._waiter` (set while the handler waits for a request) and `._current_request`;
- `web.AppRunner._make_server`, overridden: `setup()` builds the server with it;
- `RequestHandler.connection_made`, `.connection_lost`, `.data_received` and `.handle_error`,
  overridden with aiohttp's signatures;
- `BaseRequest.writer.output_size` (bytes of the answer already written), public but
  undocumented.
"""

import asyncio
from typing import Any, cast

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from kv_api.presentation.http.edge import PRE_ROUTING
from kv_api.presentation.http.limits import EdgeLimits, Refused, guard
from kv_api.presentation.http.parser_errors import parser_error_response, raw_answer

_BUSY = (503, "too_many_connections", "the server is at its connection limit", 1)
_SLOW_HEADERS = (408, "request_timeout", "the request headers took too long")
_REFUSED_LINGER = 1.0
_SLOW_BODY = (408, "request_timeout", "the request body took too long")


class EdgeServer(web.Server):
    def __init__(
        self, base: web.Server, limits: EdgeLimits, refused: Refused | None = None
    ) -> None:
        super().__init__(
            guard(base.request_handler, limits, refused),
            request_factory=base.request_factory,
            handler_cancellation=base.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **base._kwargs,
        )
        self.limits = limits
        self.open_connections = 0

    def __call__(self) -> RequestHandler:
        return EdgeRequestHandler(self, loop=self._loop, **self._kwargs)


class EdgeRequestHandler(RequestHandler):
    def __init__(self, manager: EdgeServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._edge = manager
        self._refused = False
        self._linger: asyncio.TimerHandle | None = None
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timers: list[asyncio.TimerHandle] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._edge.open_connections >= self._edge.limits.max_connections:
            self._refuse(transport)
            return
        self._edge.open_connections += 1
        super().connection_made(transport)
        self._arm_header_timer()

    def _refuse(self, transport: asyncio.BaseTransport) -> None:
        # Answer, stop writing, and close once the client has (or after a second): closing
        # with its request unread would reset the connection and lose the answer.
        self._refused = True
        writer = cast(asyncio.Transport, transport)  # uvloop's is not a WriteTransport subclass
        writer.write(raw_answer(*_BUSY))
        if writer.can_write_eof():
            writer.write_eof()
        self._linger = self._loop.call_later(_REFUSED_LINGER, writer.close)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._refused:
            if self._linger is not None:
                self._linger.cancel()
            return
        self._edge.open_connections -= 1
        self._disarm_header_timer()
        for timer in self._body_timers:
            timer.cancel()
        self._body_timers.clear()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        count = self._request_count
        super().data_received(data)
        if self._request_count != count:
            self._disarm_header_timer()
            for _, payload in list(self._messages)[count - self._request_count :]:
                if isinstance(payload, StreamReader) and not payload.is_eof():
                    self._arm_body_timer(payload)
        # Armed only when these bytes left a request's headers unfinished: a request that
        # arrives whole (the usual case) costs no timer at all.
        elif data and self._header_timer is None and self._waiting_for_request():
            self._arm_header_timer()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            raise ConnectionError("the answer is already being sent")
        response = parser_error_response(request.remote, status, exc)
        response.force_close()
        return response

    def _waiting_for_request(self) -> bool:
        return self._waiter is not None and not self._waiter.done()

    def _arm_header_timer(self) -> None:
        count = self._request_count
        self._header_timer = self._loop.call_later(
            self._edge.limits.header_timeout, self._headers_timed_out, count
        )

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self, count: int) -> None:
        self._header_timer = None
        if self._request_count == count and self.transport is not None:
            self.transport.write(raw_answer(*_SLOW_HEADERS))
            self.force_close()

    def _arm_body_timer(self, payload: StreamReader) -> None:
        timer = self._loop.call_later(self._edge.limits.body_timeout, self._body_timed_out, payload)
        self._body_timers.append(timer)

    def _body_timed_out(self, payload: StreamReader) -> None:
        now = self._loop.time()
        self._body_timers = [timer for timer in self._body_timers if timer.when() > now]
        if payload.is_eof() or self.transport is None:
            return
        current = self._current_request
        if current is not None and current.writer.output_size == 0:
            self.transport.write(raw_answer(*_SLOW_BODY))
        self.force_close()


class EdgeAppRunner(web.AppRunner):
    def __init__(self, app: web.Application, limits: EdgeLimits, **kwargs: Any) -> None:
        super().__init__(
            app,
            keepalive_timeout=limits.keepalive_timeout,
            max_field_size=limits.max_header_bytes,
            auto_decompress=False,
            **kwargs,
        )
        self._limits = limits

    async def _make_server(self) -> web.Server:
        return EdgeServer(await super()._make_server(), self._limits, self.app.get(PRE_ROUTING))
