"""The rules of a watch, checked before any storage call."""

import pytest

from kv_api.application.errors import HistoryCompacted, TooManyWatches
from kv_api.application.kv.watch import WatchChanges, WatchChangesHandler
from kv_api.application.ports import Session
from kv_api.domain.changes import Change, ChangeOp, WatchLimits
from kv_api.domain.errors import InvalidField
from tests.unit.fake_changes import FakeChangeFeed

SESSION = Session(user_id=1, token_version=0, token_id="jti", expires_at=2**31)
LOG = [
    Change("a/1", ChangeOp.PUT, 1, 1),
    Change("b/1", ChangeOp.PUT, 1, 1),
    Change("a/1", ChangeOp.DELETE, 1, 2),
    Change("b/1", ChangeOp.EXPIRE, 1, 3),
]


def handler(feed: FakeChangeFeed, max_timeout: float = 60.0) -> WatchChangesHandler:
    return WatchChangesHandler(feed, WatchLimits(max_timeout=max_timeout))


async def watch(feed: FakeChangeFeed, query: WatchChanges) -> list[Change]:
    h = handler(feed)
    watcher = h.open()
    try:
        return (await h(watcher, query)).changes
    finally:
        watcher.close()


def test_defaults_are_the_usual_limit_and_the_longest_wait() -> None:
    spec = handler(FakeChangeFeed()).check(WatchChanges(SESSION))
    assert (spec.prefix, spec.since, spec.limit, spec.timeout) == ("", None, 100, 60.0)
    assert spec.with_values is False


def test_a_longer_wait_or_limit_than_allowed_is_cut_to_the_bound() -> None:
    spec = handler(FakeChangeFeed(), 30).check(WatchChanges(SESSION, limit=5000, timeout=3600))
    assert (spec.limit, spec.timeout) == (1000, 30)
    assert handler(FakeChangeFeed()).check(WatchChanges(SESSION, timeout=0)).timeout == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (WatchChanges(SESSION, since=-1), "since"),
        (WatchChanges(SESSION, limit=0), "limit"),
        (WatchChanges(SESSION, timeout=-0.5), "timeout"),
        (WatchChanges(SESSION, timeout=float("nan")), "timeout"),
        (WatchChanges(SESSION, prefix="é" * 513), "prefix"),  # 1026 bytes
    ],
)
def test_bad_queries_name_their_field(query: WatchChanges, field: str) -> None:
    with pytest.raises(InvalidField) as caught:
        handler(FakeChangeFeed()).check(query)
    assert list(caught.value.fields) == [field]


def test_a_prefix_of_1024_bytes_is_the_longest() -> None:
    assert handler(FakeChangeFeed()).check(WatchChanges(SESSION, prefix="é" * 512)).prefix


async def test_changes_after_since_by_prefix_in_whole_revisions() -> None:
    feed = FakeChangeFeed(log=list(LOG))
    assert await watch(feed, WatchChanges(SESSION, since=0, limit=1)) == LOG[:2]
    assert await watch(feed, WatchChanges(SESSION, since=1, prefix="b/")) == LOG[3:]
    assert await watch(feed, WatchChanges(SESSION)) == []


async def test_a_since_older_than_the_history_is_compacted() -> None:
    feed = FakeChangeFeed(log=LOG[2:], compacted=1)
    with pytest.raises(HistoryCompacted) as caught:
        await watch(feed, WatchChanges(SESSION, since=0))
    assert (caught.value.oldest, caught.value.revision) == (1, 3)
    assert await watch(feed, WatchChanges(SESSION, since=1)) == LOG[2:]


async def test_watch_slots_are_bounded_and_come_back_on_close() -> None:
    feed = FakeChangeFeed(max_watches=1)
    h = handler(feed)
    first = h.open()
    with pytest.raises(TooManyWatches):
        h.open()
    first.close()
    h.open().close()
    assert feed.in_use == 0


async def test_the_checked_spec_is_what_the_feed_gets() -> None:
    feed = FakeChangeFeed()
    await watch(feed, WatchChanges(SESSION, "p/", 7, 3, 1.5, True))
    [spec] = feed.specs
    assert (spec.prefix, spec.since, spec.limit, spec.timeout, spec.with_values) == (
        "p/",
        7,
        3,
        1.5,
        True,
    )
