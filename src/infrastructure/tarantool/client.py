import asyncio
import logging
from typing import Any

import asynctnt
from asynctnt.exceptions import (
    ErrorCode,
    TarantoolDatabaseError,
    TarantoolNetworkError,
    TarantoolNotConnectedError,
)

from application.errors import StorageRejected, StorageUnavailable
from infrastructure.settings import TarantoolAddress

log = logging.getLogger("kv_api.tarantool")
logging.getLogger("asynctnt").setLevel(logging.CRITICAL)

_UNAVAILABLE_CODES = {
    ErrorCode.ER_LOADING,
    ErrorCode.ER_READONLY,
    ErrorCode.ER_NO_SUCH_PROC,
    ErrorCode.ER_NO_SUCH_SPACE,
    ErrorCode.ER_MEMORY_ISSUE,
    ErrorCode.ER_TIMEOUT,
}
_REJECTED_CODES = {ErrorCode.ER_MEMTX_MAX_TUPLE_SIZE}
_NETWORK_ERRORS = (
    TarantoolNotConnectedError,
    TarantoolNetworkError,
    ConnectionError,
    asyncio.TimeoutError,
    OSError,
)


class TarantoolClient:
    """One auto-reconnecting asynctnt connection; failures become StorageUnavailable."""

    def __init__(
        self,
        address: TarantoolAddress,
        user: str | None,
        password: str | None,
        connect_timeout: float,
        request_timeout: float,
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
            ping_timeout=2.0,
        )
        self._connector: asyncio.Task[Any] | None = None

    @property
    def connected(self) -> bool:
        return bool(self._conn.is_fully_connected)

    def start(self) -> None:
        if self._connector is None:
            self._connector = asyncio.create_task(self._conn.connect())

    async def wait_connected(self, timeout: float) -> bool:
        self.start()
        assert self._connector is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._connector), timeout)
        except TimeoutError:
            return False
        return self.connected

    async def close(self) -> None:
        if self._connector is not None and not self._connector.done():
            self._connector.cancel()
        await self._conn.disconnect()

    async def call(self, function: str, args: list[Any]) -> Any:
        if not self.connected:
            raise StorageUnavailable()
        try:
            response = await self._conn.call(function, args)
        except TarantoolDatabaseError as exc:
            raise _translate(exc) from exc
        except _NETWORK_ERRORS as exc:
            raise StorageUnavailable() from exc
        return response[0] if len(response) else None

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


def _translate(exc: TarantoolDatabaseError) -> Exception:
    code: int = exc.code
    if code in _REJECTED_CODES:
        return StorageRejected("the store refused the batch: a tuple exceeds its size limit")
    if code in _UNAVAILABLE_CODES:
        log.warning("storage not ready: %s", exc.message)
        return StorageUnavailable()
    return exc  # type: ignore[no-any-return]
