"""An in-memory ChangeFeed over the fakes' database, answering as kv_watch does: whole
revisions after `since` by prefix, compaction, waiting for a change up to the timeout, the
session checked before and after the wait, and a slot held until a call has returned."""

import asyncio
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import msgspec

from kv_api.application.errors import HistoryCompacted, SessionExpired, TooManyWatches
from kv_api.application.ports import ChangeBatch, Session, WatchSpec
from kv_api.domain.changes import CHANGE_OVERHEAD, Change, ChangeOp
from tests.unit.fakes import FakeDatabase


class FakeChangeFeed:
    def __init__(
        self,
        db: FakeDatabase,
        max_watches: int = 10,
        max_per_user: int = 10,
        max_stored_bytes: int | None = None,
    ) -> None:
        self.db = db
        self.max_watches = max_watches
        self.max_per_user = max_per_user
        self.max_stored_bytes = max_stored_bytes
        self.in_use = 0
        self.by_user: dict[int, int] = {}
        self.specs: list[WatchSpec] = []

    @contextmanager
    def watch(self, session: Session) -> Iterator["FakeWatcher"]:
        user = session.user_id
        if self.by_user.get(user, 0) >= self.max_per_user:
            raise TooManyWatches(of_user=True)
        if self.in_use >= self.max_watches:
            raise TooManyWatches()
        self.in_use += 1
        self.by_user[user] = self.by_user.get(user, 0) + 1
        watcher = FakeWatcher(self, session)
        try:
            yield watcher
        finally:
            watcher.close()

    def released(self, user: int) -> None:
        self.in_use -= 1
        self.by_user[user] -= 1

    async def purge(self, before: float, batch: int) -> int:
        """Every logged change counts as older than `before`: the fakes keep no times."""
        removed = 0
        for user_id, log in self.db.changes.items():
            taken, self.db.changes[user_id] = log[: batch - removed], log[batch - removed :]
            if taken:
                self.db.compacted[user_id] = max(c.revision for c in taken)
            removed += len(taken)
        return removed

    def answer(
        self, session: Session, spec: WatchSpec, since: int, offset: int
    ) -> tuple[list[Change], int, int]:
        """As kv_watch: whole revisions up to the limit, and about max_stored_bytes (each change
        its key, its value's MessagePack and CHANGE_OVERHEAD), a larger revision in fragments."""
        user_id = session.user_id
        revision = self.db.revisions.get(user_id, 0)
        compacted = self.db.compacted.get(user_id, 0)
        if since > revision:
            since, offset = revision, 0
        if 0 < since < compacted:
            raise HistoryCompacted(compacted, revision)
        if since < compacted:  # from the start: what is still kept
            since, offset = compacted, 0
        log = self.db.changes.get(user_id, [])
        bound = self.max_stored_bytes or math.inf
        found: list[Change] = []
        scanned, used = since, 0
        for rev in sorted({c.revision for c in log if c.revision > since}):
            if len(found) >= spec.limit:
                break
            skip = offset if rev == since + 1 else 0
            for position, change in enumerate([c for c in log if c.revision == rev], 1):
                if position <= skip or not change.key.startswith(spec.prefix):
                    continue
                change = self._with_value(user_id, change, spec)
                cost = len(change.key.encode()) + CHANGE_OVERHEAD
                if change.has_value:
                    cost += len(msgspec.msgpack.encode(change.value))
                if found and used + cost > bound:
                    return found, scanned, position - 1
                used += cost
                found.append(change)
            scanned = rev
        return found, scanned, 0

    def _with_value(self, user_id: int, change: Change, spec: WatchSpec) -> Change:
        """A put's value while it is still the key's current, live version."""
        if not spec.with_values or change.op is not ChangeOp.PUT:
            return change
        pair = self.db.data.get(user_id, {}).get(change.key)
        if pair is None or pair.version != change.version or not pair.live(self.db.now()):
            return change
        return replace(change, value=pair.value, has_value=True)


class FakeWatcher:
    def __init__(self, feed: FakeChangeFeed, session: Session) -> None:
        self._feed = feed
        self._session = session
        self._pending = False
        self._closed = False
        self._released = False
        self._cancel = asyncio.Event()

    async def next(self, spec: WatchSpec) -> ChangeBatch:
        assert not self._closed and not self._pending, "one call at a time, until closed"
        self._feed.specs.append(spec)
        self._pending = True
        self._cancel = asyncio.Event()
        # shielded, as the adapter's call: the slot is held until the call has returned; a
        # caller that gives up cancels the call, as kv_watch_cancel does
        try:
            return await asyncio.shield(self._call(spec))
        except asyncio.CancelledError:
            self._cancel.set()
            self._feed.db.wake(self._session.user_id)
            raise

    async def _call(self, spec: WatchSpec) -> ChangeBatch:
        db, session = self._feed.db, self._session
        try:
            if db.session_user(session) is None:
                raise SessionExpired()
            loop = asyncio.get_running_loop()
            deadline, waited = loop.time() + spec.timeout, False
            # absent: from the revision the call starts at, as kv_watch takes it
            since = db.revisions.get(session.user_id, 0) if spec.since is None else spec.since
            while True:
                found, scanned, offset = self._feed.answer(session, spec, since, spec.offset)
                if offset:
                    return ChangeBatch(found, scanned, False, offset)
                ended = waited and db.session_user(session) is None
                left = deadline - loop.time()
                if found or left <= 0 or ended:
                    return ChangeBatch(found, scanned, ended)
                await db.changed(session.user_id, left)
                if self._cancel.is_set():
                    raise SessionExpired()  # answered to nobody: kv_watch answers nil
                waited = True
        finally:
            self._pending = False
            self._release_if_closed()

    def close(self) -> None:
        self._closed = True
        self._release_if_closed()

    def _release_if_closed(self) -> None:
        if self._closed and not self._pending and not self._released:
            self._released = True
            self._feed.released(self._session.user_id)
