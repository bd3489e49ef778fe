import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import asynctnt
from asynctnt.exceptions import (
    ErrorCode,
    TarantoolDatabaseError,
    TarantoolNetworkError,
    TarantoolNotConnectedError,
)

from kv_api.application.errors import StorageFull, StorageRejected, StorageUnavailable
from kv_api.infrastructure.settings import TarantoolAddress

log = logging.getLogger("kv_api.tarantool")
logging.getLogger("asynctnt").setLevel(logging.CRITICAL)

_UNAVAILABLE_CODES = {
    ErrorCode.ER_LOADING,
    ErrorCode.ER_READONLY,
    ErrorCode.ER_NO_SUCH_PROC,
    ErrorCode.ER_NO_SUCH_SPACE,
    ErrorCode.ER_TIMEOUT,
}
# memtx arena exhausted: retrying will not help until data is deleted or the quota raised
_FULL_CODES = {ErrorCode.ER_MEMORY_ISSUE}
_REFUSED_RETRY_SECONDS = 2.0
CLOSE_TIMEOUT = 5.0
_REJECTED_CODES = {ErrorCode.ER_MEMTX_MAX_TUPLE_SIZE}
_NETWORK_ERRORS = (
    TarantoolNotConnectedError,
    TarantoolNetworkError,
    ConnectionError,
    asyncio.TimeoutError,
    OSError,
)


class CallObserver(Protocol):
    def storage_error(self, function: str, kind: str) -> None: ...


# Defines the Lua functions through the client it is given; True when a retry may find them.
Definer = Callable[["TarantoolClient"], Awaitable[bool]]


def _error_kind(error: Exception) -> str:
    if isinstance(error, StorageUnavailable):
        return "unavailable"
    if isinstance(error, StorageFull):
        return "full"
    return "rejected" if isinstance(error, StorageRejected) else "failed"


class TarantoolClient:
    """One auto-reconnecting asynctnt connection; failures become StorageUnavailable."""

    def __init__(
        self,
        address: TarantoolAddress,
        user: str | None,
        password: str | None,
        connect_timeout: float,
        request_timeout: float,
        definer: Definer | None = None,
    ) -> None:
        self.address = address
        self._conn = asynctnt.Connection(
            host=address.host,
            port=address.port,
            username=user,
            password=password,
            fetch_schema=False,
            auto_refetch_schema=False,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            reconnect_timeout=0.5,
            # asynctnt's pinger ignores failures and leaks a task per reconnect; a dead peer
            # shows up as a closed socket or as request_timeout, so it adds nothing.
            ping_timeout=0,
        )
        self._connector: asyncio.Task[Any] | None = None
        self._where = f"{address.host}:{address.port}"
        self.refusal: str | None = None
        self._observer: CallObserver | None = None
        self._definer = definer
        self._defining: asyncio.Future[bool] | None = None

    @property
    def connected(self) -> bool:
        return bool(self._conn.is_fully_connected)

    def start(self) -> None:
        if self._connector is None:
            self._connector = asyncio.create_task(self._connect())

    async def _connect(self) -> None:
        """asynctnt retries network errors by itself; a refusal (credentials) is retried here."""
        while True:
            try:
                await self._conn.connect()
            except TarantoolDatabaseError as exc:
                self.refusal = str(exc.message)
                log.error("tarantool at %s refused the connection: %s", self._where, exc.message)
                await asyncio.sleep(_REFUSED_RETRY_SECONDS)
            else:
                self.refusal = None
                return

    async def wait_connected(self, timeout: float) -> bool:
        self.start()
        assert self._connector is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._connector), timeout)
        except TimeoutError:
            return False
        return self.connected

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        if self._connector is not None and not self._connector.done():
            self._connector.cancel()
        # asynctnt waits for connection_lost with no bound: a shutdown must not hang on it
        try:
            await asyncio.wait_for(self._conn.disconnect(), timeout)
        except TimeoutError:
            log.warning(
                "tarantool connection to %s not closed in %.0fs; dropped", self._where, timeout
            )

    def observe(self, observer: CallObserver) -> None:
        self._observer = observer

    def _failed(self, function: str, error: Exception) -> Exception:
        if self._observer is not None:
            self._observer.storage_error(function, _error_kind(error))
        return error

    async def call(self, function: str, args: list[Any]) -> Any:
        if not self.connected:
            raise self._failed(function, StorageUnavailable())
        sent = list(args)
        try:
            response = await self._call_defining(function, sent)
        except TarantoolDatabaseError as exc:
            raise self._failed(function, _translate(exc)) from exc
        except _NETWORK_ERRORS as exc:
            raise self._failed(function, StorageUnavailable()) from exc
        except StorageUnavailable as exc:
            raise self._failed(function, exc) from None
        finally:
            sent.clear()
        return _take_result(response)

    async def _call_defining(self, function: str, args: list[Any]) -> Any:
        """The Lua functions are globals, gone after a Tarantool restart (and never defined
        on a read replica): a call that finds its function missing defines them all, then is
        made again, once. The first attempt ran nothing, so the retry cannot repeat work."""
        try:
            return await self._conn.call(function, args)
        except TarantoolDatabaseError as exc:
            if exc.code != ErrorCode.ER_NO_SUCH_PROC or not await self._define():
                raise
        return await self._conn.call(function, args)

    async def _define(self) -> bool:
        """One definition at a time per client: the calls missing a function together (all of
        them, after a restart) wait for the same one."""
        if self._definer is None:
            return False
        if self._defining is None:
            self._defining = asyncio.ensure_future(self._definer(self))
            self._defining.add_done_callback(self._defined)
        # shielded: a caller cancelled must not cancel the definition the others wait for
        return await asyncio.shield(self._defining)

    def _defined(self, definition: asyncio.Future[bool]) -> None:
        self._defining = None
        if not definition.cancelled():
            definition.exception()  # seen here too: its waiters may all have been cancelled

    async def eval(self, code: str, args: list[Any]) -> Any:
        if not self.connected:
            raise StorageUnavailable()
        try:
            response = await self._conn.eval(code, args)
        except _NETWORK_ERRORS as exc:
            raise StorageUnavailable() from exc
        return response[0] if len(response) else None

    async def ping(self, timeout: float) -> bool:
        if not self.connected:
            return False
        try:
            await self._conn.ping(timeout=timeout)
        except (*_NETWORK_ERRORS, TarantoolDatabaseError):
            return False
        return True


def _take_result(response: Any) -> Any:
    """asynctnt leaves every call in a reference cycle (future -> response -> request ->
    future) that only the garbage collector frees, with the arguments and the reply attached:
    for read1000 thousands of objects per call. Emptying both lists lets reference counting
    free them at once (`make bench`: a third less CPU on read1000, read10's p99 from ~80 ms
    to ~10 ms), and the cycle left is a handful of small objects."""
    body: list[Any] = response.body
    result = body[0] if body else None
    body.clear()
    return result


def _translate(exc: TarantoolDatabaseError) -> Exception:
    code: int = exc.code
    if code in _REJECTED_CODES:
        return StorageRejected("the store refused the batch: a tuple exceeds its size limit")
    if code in _FULL_CODES:
        log.warning("store full: %s", exc.message)
        return StorageFull()
    if code in _UNAVAILABLE_CODES:
        log.warning("storage not ready: %s", exc.message)
        return StorageUnavailable()
    return exc  # type: ignore[no-any-return]
