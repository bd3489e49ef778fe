"""Watching a user's keys: the changes after a revision, waiting inside the store for one."""

import dataclasses
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from kv_api.application.ports import ChangeBatch, ChangeFeed, Session, WatchSpec
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


class WatchChangesHandler:
    """A long poll answers one batch; a stream follows the feed batch after batch. The query
    is checked (400) before a watch slot is taken (429)."""

    def __init__(self, feed: ChangeFeed, limits: WatchLimits) -> None:
        self._feed = feed
        self._limits = limits

    def spec(self, query: WatchChanges) -> WatchSpec:
        limits = self._limits
        limits.check_since(query.since)
        check_prefix(query.prefix)
        return WatchSpec(
            prefix=query.prefix,
            since=query.since,
            limit=limits.limit(query.limit),
            timeout=limits.timeout(query.timeout),
            with_values=query.with_values,
        )

    async def poll(self, query: WatchChanges) -> ChangeBatch:
        spec = self.spec(query)
        with self._feed.watch(query.session) as watcher:
            return await watcher.next(spec)

    async def follow(self, query: WatchChanges) -> AsyncGenerator[ChangeBatch, None]:
        """The changes at once (an empty batch when there are none yet), then each batch as it
        comes, until the session ends. Close the iterator to end the watch."""
        spec = self.spec(query)
        with self._feed.watch(query.session) as watcher:
            batch = await watcher.next(dataclasses.replace(spec, timeout=0))
            yield batch
            while not batch.ended:
                # a stream waits the server's longest bound per call, whatever the query says
                later = dataclasses.replace(
                    spec, since=batch.revision, timeout=self._limits.max_timeout
                )
                batch = await watcher.next(later)
                yield batch
