"""Watching a user's keys: the changes after a revision, waiting inside the store for one."""

from dataclasses import dataclass

from kv_api.application.ports import ChangeBatch, ChangeFeed, Session, Watcher, WatchSpec
from kv_api.domain.changes import WatchLimits


@dataclass(frozen=True, slots=True)
class WatchChanges:
    session: Session
    prefix: str = ""
    since: int | None = None  # None: from the current revision on
    limit: int | None = None
    timeout: float | None = None  # None: the server's bound
    with_values: bool = False


class WatchChangesHandler:
    """`check` a query (400s) before `open` takes a slot (429), then call once per poll."""

    def __init__(self, feed: ChangeFeed, limits: WatchLimits) -> None:
        self._feed = feed
        self._limits = limits

    def check(self, query: WatchChanges) -> WatchSpec:
        limits = self._limits
        limits.check_since(query.since)
        limits.check_prefix(query.prefix)
        return WatchSpec(
            prefix=query.prefix,
            since=query.since,
            limit=limits.limit(query.limit),
            timeout=limits.timeout(query.timeout),
            with_values=query.with_values,
        )

    def open(self) -> Watcher:
        return self._feed.open()

    async def __call__(self, watcher: Watcher, query: WatchChanges) -> ChangeBatch:
        return await watcher.next(query.session, self.check(query))
