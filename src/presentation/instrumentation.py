"""Decorators the composition root puts around adapters and handlers to feed the metrics."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Protocol

from aiohttp import web

from kv_api.application.errors import InvalidCredentials, RateLimited
from kv_api.application.ports import (
    DeleteOutcome,
    IssuedToken,
    KeyPage,
    KeyValueRepository,
    Session,
    WriteItems,
    WriteOptions,
    WriteOutcome,
)
from kv_api.application.users.commands import Login
from kv_api.application.users.login import LoginHandler
from kv_api.domain.keys import JsonValue, PairMeta
from kv_api.presentation.http.metrics import Metrics

CONNECTION_POLL_SECONDS = 1.0


class _Address(Protocol):
    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


class ObservableClient(Protocol):
    """What the poller needs of a storage connection (the composition root passes them)."""

    @property
    def address(self) -> _Address: ...

    @property
    def connected(self) -> bool: ...

    def observe(self, observer: Metrics) -> None: ...


class ObservableStorage(Protocol):
    @property
    def primary(self) -> ObservableClient: ...

    @property
    def replicas(self) -> Sequence[ObservableClient]: ...


class ObservedKeyValueRepository:
    """Counts keys and batch sizes of the calls that succeed."""

    def __init__(self, inner: KeyValueRepository, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def write(
        self, session: Session, items: WriteItems, options: WriteOptions
    ) -> WriteOutcome:
        outcome = await self._inner.write(session, items, options)
        self._metrics.write_batch.observe(len(items))
        self._metrics.keys_written.inc(outcome.written)
        return outcome

    async def read(self, session: Session, keys: Sequence[str]) -> dict[str, JsonValue]:
        found = await self._inner.read(session, keys)
        self._metrics.read_batch.observe(len(keys))
        self._metrics.keys_read.inc(len(found))
        return found

    async def read_with_meta(
        self, session: Session, keys: Sequence[str]
    ) -> tuple[dict[str, JsonValue], dict[str, PairMeta]]:
        found, meta = await self._inner.read_with_meta(session, keys)
        self._metrics.read_batch.observe(len(keys))
        self._metrics.keys_read.inc(len(found))
        return found, meta

    async def delete(
        self, session: Session, keys: Sequence[str], if_version: Mapping[str, int]
    ) -> DeleteOutcome:
        outcome = await self._inner.delete(session, keys, if_version)
        self._metrics.delete_batch.observe(len(keys))
        self._metrics.keys_deleted.inc(outcome.deleted)
        return outcome

    async def list_keys(
        self, session: Session, prefix: str, after: str | None, limit: int
    ) -> KeyPage:
        return await self._inner.list_keys(session, prefix, after, limit)

    async def purge_expired(self, batch: int) -> int:
        expired = await self._inner.purge_expired(batch)
        self._metrics.keys_expired.inc(expired)
        return expired


class ObservedLogin:
    """Counts refused logins: wrong credentials and throttled attempts."""

    def __init__(self, inner: LoginHandler, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def __call__(self, command: Login) -> IssuedToken:
        try:
            return await self._inner(command)
        except InvalidCredentials:
            self._metrics.login_failures.inc()
            raise
        except RateLimited:
            self._metrics.login_rate_limited.inc()
            raise


def track_storage(
    storage: Callable[[], ObservableStorage], metrics: Metrics
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context: storage error counts, and the connection gauge polled each second."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        current = storage()
        clients = [("primary", 0, current.primary)]
        clients += [("replica", i, r) for i, r in enumerate(current.replicas)]
        for _, _, client in clients:
            client.observe(metrics)

        def refresh() -> None:
            for role, index, client in clients:
                metrics.connection_state(role, index, client.connected)

        async def poll() -> None:  # keeps other workers' values fresh under --workers N
            while True:
                refresh()
                await asyncio.sleep(CONNECTION_POLL_SECONDS)

        metrics.before_scrape(refresh)
        poller = asyncio.create_task(poll())
        yield
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller

    return context
