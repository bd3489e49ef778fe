"""An in-memory ChangeFeed: answers from a list of logged changes as kv_watch does (whole
revisions, prefix, since, compaction), without waiting."""

from dataclasses import dataclass, field

from kv_api.application.errors import HistoryCompacted, TooManyWatches
from kv_api.application.ports import ChangeBatch, Session, WatchSpec
from kv_api.domain.changes import Change


@dataclass
class FakeChangeFeed:
    max_watches: int = 10
    log: list[Change] = field(default_factory=list)
    compacted: int = 0
    in_use: int = 0
    specs: list[WatchSpec] = field(default_factory=list)
    purged_before: list[float] = field(default_factory=list)

    @property
    def revision(self) -> int:
        return max((c.revision for c in self.log), default=self.compacted)

    def open(self) -> "FakeWatcher":
        if self.in_use >= self.max_watches:
            raise TooManyWatches()
        self.in_use += 1
        return FakeWatcher(self)

    async def purge(self, before: float, batch: int) -> int:
        self.purged_before.append(before)
        return 0

    def answer(self, spec: WatchSpec) -> ChangeBatch:
        self.specs.append(spec)
        since = self.revision if spec.since is None else min(spec.since, self.revision)
        if since < self.compacted:
            raise HistoryCompacted(self.compacted, self.revision)
        found: list[Change] = []
        scanned = since
        for revision in sorted({c.revision for c in self.log if c.revision > since}):
            if len(found) >= spec.limit:
                break
            found += [
                c for c in self.log if c.revision == revision and c.key.startswith(spec.prefix)
            ]
            scanned = revision
        return ChangeBatch(found, scanned)


class FakeWatcher:
    def __init__(self, feed: FakeChangeFeed) -> None:
        self._feed = feed
        self.closed = False

    async def next(self, session: Session, spec: WatchSpec) -> ChangeBatch:
        assert not self.closed
        return self._feed.answer(spec)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._feed.in_use -= 1
