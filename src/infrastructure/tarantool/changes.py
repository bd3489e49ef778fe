"""The change feed on its own Tarantool connection: kv_watch waits inside Tarantool (a fiber
condition per user), so a waiting watch holds no Python CPU, and the ordinary requests on the
primary connection never queue behind it."""

import asyncio
import itertools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kv_api.application.errors import HistoryCompacted, SessionExpired, TooManyWatches
from kv_api.application.ports import ChangeBatch, Session, WatchSpec
from kv_api.domain.changes import Change, ChangeOp
from kv_api.infrastructure.tarantool.client import TarantoolClient

# kv_watch treats a since beyond the current revision as the current one
LATEST = 2**52
# Ids of this process's kv_watch calls, unique among every API process on one Tarantool.
_CALL_IDS = (f"{uuid.uuid4().hex}:{n}" for n in itertools.count())


class TarantoolChangeFeed:
    """At most `max_watches` watches of this process at once, and `max_per_user` of one user.
    A slot is given back only when its watch is closed and its kv_watch call has returned, so
    Tarantool's fibers never exceed the bound; a call whose caller gave up (its HTTP client
    went away, the server stops) is cancelled in Tarantool and returns at once."""

    def __init__(
        self,
        watch: TarantoolClient,
        primary: TarantoolClient,
        max_watches: int,
        max_per_user: int,
        max_stored_bytes: int | None = None,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        self._watch = watch
        self._primary = primary
        self._max = max_watches
        self._max_per_user = max_per_user
        self._max_stored_bytes = max_stored_bytes  # of one answer: kv_watch fragments past it
        self._observe = observe  # told the count of slots taken at each change
        self.in_use = 0
        self._by_user: dict[int, int] = {}

    @contextmanager
    def watch(self, session: Session) -> Iterator["TarantoolWatcher"]:
        user = session.user_id
        if self._by_user.get(user, 0) >= self._max_per_user:
            raise TooManyWatches(of_user=True)
        if self.in_use >= self._max:
            raise TooManyWatches()
        self._count(user, +1)
        watcher = TarantoolWatcher(
            self._watch,
            self._primary,
            session,
            lambda: self._count(user, -1),
            self._max_stored_bytes,
        )
        try:
            yield watcher
        finally:
            watcher.close()

    def _count(self, user: int, change: int) -> None:
        self.in_use += change
        held = self._by_user.get(user, 0) + change
        if held:
            self._by_user[user] = held
        else:
            del self._by_user[user]
        if self._observe is not None:
            self._observe(self.in_use)

    async def purge(self, before: float, batch: int) -> int:
        return int(await self._primary.call("kv_purge_changes", [before, batch]))


class TarantoolWatcher:
    def __init__(
        self,
        client: TarantoolClient,
        primary: TarantoolClient,
        session: Session,
        release: Callable[[], None],
        max_stored_bytes: int | None = None,
    ) -> None:
        self._client = client
        self._primary = primary
        self._session = session
        self._max_stored_bytes = max_stored_bytes
        self._release: Callable[[], None] | None = release
        self._pending: asyncio.Future[Any] | None = None
        self._closed = False

    async def next(self, spec: WatchSpec) -> ChangeBatch:
        if self._closed or self._pending is not None:
            raise RuntimeError("a watcher makes one call at a time, until closed")
        session = self._session
        since = LATEST if spec.since is None else spec.since
        call_id = next(_CALL_IDS)
        args = [session.user_id, session.token_version, session.token_id, spec.prefix]
        args += [since, spec.limit, spec.timeout, spec.with_values, call_id]
        args += [self._max_stored_bytes, spec.offset]
        call = asyncio.ensure_future(self._client.call("kv_watch", args))
        self._pending = call
        call.add_done_callback(self._returned)
        try:
            # shielded: the slot stays taken until Tarantool has answered the call
            return _batch(await asyncio.shield(call))
        except asyncio.CancelledError:
            self._cancel(call_id)  # so that it answers now, not at its timeout
            raise

    def _cancel(self, call_id: str) -> None:
        cancel = self._primary.call("kv_watch_cancel", [self._session.user_id, call_id])
        task = asyncio.ensure_future(cancel)
        _CANCELS.add(task)
        task.add_done_callback(_cancelled)

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


_CANCELS: set[asyncio.Future[Any]] = set()  # referenced until done: a task may not be lost


def _cancelled(task: asyncio.Future[Any]) -> None:
    _CANCELS.discard(task)
    if not task.cancelled():
        task.exception()  # a store that cannot be told: the call still ends at its timeout


def _batch(result: Any) -> ChangeBatch:
    if result is None:
        raise SessionExpired()
    if result[0] == "compacted":
        raise HistoryCompacted(int(result[1]), int(result[2]))
    _, found, revision, ended, offset = result
    changes = [_change(row) for row in found]
    return ChangeBatch(changes, int(revision), bool(ended), int(offset))


def _change(row: list[Any]) -> Change:
    key, op, version, revision = row[0], row[1], row[2], row[3]
    if len(row) > 4:
        return Change(key, ChangeOp(op), int(version), int(revision), row[4], True)
    return Change(key, ChangeOp(op), int(version), int(revision))
