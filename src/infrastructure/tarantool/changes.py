"""The change feed on its own Tarantool connection: kv_watch waits inside Tarantool (a fiber
condition per user), so a waiting watch holds no Python CPU, and the ordinary requests on the
primary connection never queue behind it."""

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kv_api.application.errors import HistoryCompacted, SessionExpired, TooManyWatches
from kv_api.application.ports import ChangeBatch, Session, WatchSpec
from kv_api.domain.changes import Change, ChangeOp
from kv_api.infrastructure.tarantool.client import TarantoolClient

# kv_watch treats a since beyond the current revision as the current one
LATEST = 2**52


class TarantoolChangeFeed:
    """At most `max_watches` watches of this process at once. A slot is given back only when
    its watch is closed and its kv_watch call has returned, not when its HTTP client went away
    (the Lua fiber keeps waiting until it answers), so Tarantool's fibers never exceed it."""

    def __init__(
        self,
        watch: TarantoolClient,
        primary: TarantoolClient,
        max_watches: int,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        self._watch = watch
        self._primary = primary
        self._max = max_watches
        self._observe = observe  # told the count of slots taken at each change
        self.in_use = 0

    @contextmanager
    def watch(self, session: Session) -> Iterator["TarantoolWatcher"]:
        if self.in_use >= self._max:
            raise TooManyWatches()
        self._count(+1)
        watcher = TarantoolWatcher(self._watch, session, lambda: self._count(-1))
        try:
            yield watcher
        finally:
            watcher.close()

    def _count(self, change: int) -> None:
        self.in_use += change
        if self._observe is not None:
            self._observe(self.in_use)

    async def purge(self, before: float, batch: int) -> int:
        return int(await self._primary.call("kv_purge_changes", [before, batch]))


class TarantoolWatcher:
    def __init__(
        self, client: TarantoolClient, session: Session, release: Callable[[], None]
    ) -> None:
        self._client = client
        self._session = session
        self._release: Callable[[], None] | None = release
        self._pending: asyncio.Future[Any] | None = None
        self._closed = False

    async def next(self, spec: WatchSpec) -> ChangeBatch:
        if self._closed or self._pending is not None:
            raise RuntimeError("a watcher makes one call at a time, until closed")
        session = self._session
        since = LATEST if spec.since is None else spec.since
        args = [session.user_id, session.token_version, session.token_id, spec.prefix]
        args += [since, spec.limit, spec.timeout, spec.with_values]
        call = asyncio.ensure_future(self._client.call("kv_watch", args))
        self._pending = call
        call.add_done_callback(self._returned)
        # shielded: a cancelled request leaves the call running, and its slot taken, until
        # Tarantool answers it
        return _batch(await asyncio.shield(call))

    def _returned(self, call: asyncio.Future[Any]) -> None:
        self._pending = None
        if not call.cancelled():
            call.exception()  # seen: a call its request abandoned must not log "never retrieved"
        if self._closed:
            self._give_back()

    def close(self) -> None:
        self._closed = True
        if self._pending is None:
            self._give_back()

    def _give_back(self) -> None:
        if self._release is not None:
            self._release()
            self._release = None


def _batch(result: Any) -> ChangeBatch:
    if result is None:
        raise SessionExpired()
    if result[0] == "compacted":
        raise HistoryCompacted(int(result[1]), int(result[2]))
    _, found, revision, ended = result
    return ChangeBatch([_change(row) for row in found], int(revision), bool(ended))


def _change(row: list[Any]) -> Change:
    key, op, version, revision = row[0], row[1], row[2], row[3]
    if len(row) > 4:
        return Change(key, ChangeOp(op), int(version), int(revision), row[4], True)
    return Change(key, ChangeOp(op), int(version), int(revision))
