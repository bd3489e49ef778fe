"""Watching a user's keys: the changes after a revision, waiting inside the store for one."""

import dataclasses
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from kv_api.application.errors import TokenExpired
from kv_api.application.ports import ChangeBatch, ChangeFeed, Clock, Session, WatchSpec
from kv_api.domain.changes import WatchLimits
from kv_api.domain.keys import check_prefix


@dataclass(frozen=True, slots=True)
class WatchChanges:
    session: Session
    prefix: str = ""
    since: int | None = None  # None: from the current revision on
    limit: int | None = None
    timeout: float | None = None  # None: the server's bound
    with_values: bool = False
    offset: int = 0  # resuming a fragment of the revision after `since`


class WatchChangesHandler:
    """A long poll answers one batch; a stream follows the feed batch after batch. The query
    is checked (400) before a watch slot is taken (429)."""

    def __init__(self, feed: ChangeFeed, limits: WatchLimits, clock: Clock) -> None:
        self._feed = feed
        self._limits = limits
        self._clock = clock

    def spec(self, query: WatchChanges) -> WatchSpec:
        limits = self._limits
        limits.check_since(query.since, query.offset)
        check_prefix(query.prefix)
        return WatchSpec(
            prefix=query.prefix,
            since=query.since,
            limit=limits.limit(query.limit),
            timeout=limits.timeout(query.timeout),
            with_values=query.with_values,
            # a position inside the revision after `since`: nothing to resume without one
            offset=query.offset if query.since is not None else 0,
        )

    async def poll(self, query: WatchChanges) -> ChangeBatch:
        spec = self.spec(query)
        with self._feed.watch(query.session) as watcher:
            return await watcher.next(self._within_token(query.session, spec, spec.timeout))

    async def follow(self, query: WatchChanges) -> AsyncGenerator[ChangeBatch, None]:
        """The changes at once (an empty batch when there are none yet), then each batch as it
        comes, until the session ends or its token expires (TokenExpired). Close the iterator
        to end the watch."""
        spec = self.spec(query)
        session = query.session
        with self._feed.watch(session) as watcher:
            batch = await watcher.next(self._within_token(session, spec, 0))
            yield batch
            while not batch.ended:
                # a stream waits the server's longest bound per call, whatever the query says
                later = dataclasses.replace(spec, since=batch.revision, offset=batch.offset)
                batch = await watcher.next(
                    self._within_token(session, later, self._limits.max_timeout)
                )
                yield batch

    def _within_token(self, session: Session, spec: WatchSpec, wait: float) -> WatchSpec:
        """No wait outlasts the token: at its `exp` the watch ends."""
        left = session.expires_at - self._clock.now().timestamp()
        if left <= 0:
            raise TokenExpired()
        return dataclasses.replace(spec, timeout=min(wait, left))
