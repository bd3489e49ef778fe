"""The watch use case: its bounds checked before any slot or storage call, a long poll
answering one batch, a stream following batch after batch until the session ends."""

import asyncio
import contextlib

import pytest

from kv_api.application.errors import (
    HistoryCompacted,
    SessionExpired,
    TokenExpired,
    TooManyWatches,
)
from kv_api.application.kv.watch import WatchChanges, WatchChangesHandler
from kv_api.application.ports import Session
from kv_api.domain.changes import MAX_REVISION, ChangeOp, WatchLimits
from kv_api.domain.errors import InvalidField
from tests.unit.fake_changes import FakeChangeFeed
from tests.unit.fakes import FakeClock, FakeWorld, session_of

SESSION = Session(user_id=1, token_version=0, token_id="jti", expires_at=2**31)


@pytest.fixture
async def session(world: FakeWorld) -> Session:
    return session_of(await world.add_user("alice"))


@pytest.fixture
def feed(world: FakeWorld) -> FakeChangeFeed:
    return FakeChangeFeed(world.db)


def handler(
    feed: FakeChangeFeed, max_timeout: float = 60.0, clock: FakeClock | None = None
) -> WatchChangesHandler:
    """On the fakes' clock: their sessions expire 1800 s after it starts."""
    return WatchChangesHandler(feed, WatchLimits(max_timeout=max_timeout), clock or FakeClock())


async def log(world: FakeWorld, session: Session) -> None:
    """Revisions 1 (a/1, b/1 put), 2 (a/1 deleted) and 3 (b/1 deleted)."""
    world.db.record(session.user_id, [("a/1", ChangeOp.PUT, 1), ("b/1", ChangeOp.PUT, 1)])
    world.db.record(session.user_id, [("a/1", ChangeOp.DELETE, 1)])
    world.db.record(session.user_id, [("b/1", ChangeOp.DELETE, 1)])


def test_defaults_are_the_usual_limit_and_the_longest_wait(feed: FakeChangeFeed) -> None:
    spec = handler(feed).spec(WatchChanges(SESSION))
    assert (spec.prefix, spec.since, spec.limit, spec.timeout) == ("", None, 100, 60.0)
    assert spec.with_values is False


def test_a_longer_wait_than_the_server_allows_is_cut_to_its_bound(feed: FakeChangeFeed) -> None:
    spec = handler(feed, 30).spec(WatchChanges(SESSION, limit=1000, timeout=3600))
    assert (spec.limit, spec.timeout) == (1000, 30)
    assert handler(feed).spec(WatchChanges(SESSION, timeout=0)).timeout == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (WatchChanges(SESSION, since=-1), "since"),
        (WatchChanges(SESSION, since=MAX_REVISION + 1), "since"),
        (WatchChanges(SESSION, limit=0), "limit"),
        (WatchChanges(SESSION, limit=1001), "limit"),
        (WatchChanges(SESSION, timeout=-0.5), "timeout"),
        (WatchChanges(SESSION, timeout=3600.5), "timeout"),
        (WatchChanges(SESSION, timeout=float("nan")), "timeout"),
        (WatchChanges(SESSION, prefix="é" * 513), "prefix"),  # 1026 bytes
    ],
)
def test_bad_queries_name_their_field(
    feed: FakeChangeFeed, query: WatchChanges, field: str
) -> None:
    with pytest.raises(InvalidField) as caught:
        handler(feed).spec(query)
    assert list(caught.value.fields) == [field]


def test_a_prefix_of_1024_bytes_is_the_longest(feed: FakeChangeFeed) -> None:
    assert handler(feed).spec(WatchChanges(SESSION, prefix="é" * 512)).prefix


async def test_a_bad_query_takes_no_slot(world: FakeWorld, session: Session) -> None:
    feed = FakeChangeFeed(world.db, max_watches=1)
    with pytest.raises(InvalidField):
        await handler(feed).poll(WatchChanges(session, since=-1))
    assert feed.in_use == 0 and feed.specs == []


async def test_a_poll_answers_changes_after_since_by_prefix_in_whole_revisions(
    world: FakeWorld, session: Session, feed: FakeChangeFeed
) -> None:
    await log(world, session)
    h = handler(feed)
    first = await h.poll(WatchChanges(session, since=0, limit=1))
    assert [(c.key, c.revision) for c in first.changes] == [("a/1", 1), ("b/1", 1)]
    assert first.revision == 1
    rest = await h.poll(WatchChanges(session, since=1, prefix="b/"))
    assert [(c.key, c.op) for c in rest.changes] == [("b/1", ChangeOp.DELETE)]
    assert (await h.poll(WatchChanges(session, timeout=0))).changes == []
    assert feed.in_use == 0


async def test_a_since_older_than_the_history_is_compacted(
    world: FakeWorld, session: Session, feed: FakeChangeFeed
) -> None:
    await log(world, session)
    world.db.record(session.user_id, [("c/1", ChangeOp.PUT, 1)])  # revision 4
    await feed.purge(0, 3)  # revisions 1 and 2 are gone
    with pytest.raises(HistoryCompacted) as caught:
        await handler(feed).poll(WatchChanges(session, since=1))
    assert (caught.value.oldest, caught.value.revision) == (2, 4)
    kept = await handler(feed).poll(WatchChanges(session, since=2))
    assert [c.revision for c in kept.changes] == [3, 4]
    # from the start (0): what is still kept, never compacted
    start = await handler(feed).poll(WatchChanges(session, since=0))
    assert [c.revision for c in start.changes] == [3, 4]


async def test_watch_slots_are_bounded_and_come_back_after_each_poll(
    world: FakeWorld, session: Session
) -> None:
    feed = FakeChangeFeed(world.db, max_watches=1)
    h = handler(feed)
    waiting = asyncio.create_task(h.poll(WatchChanges(session, since=0, timeout=10)))
    await asyncio.sleep(0)
    with pytest.raises(TooManyWatches):
        await h.poll(WatchChanges(session, timeout=0))
    world.db.record(session.user_id, [("k", ChangeOp.PUT, 1)])
    assert [c.key for c in (await waiting).changes] == ["k"]
    assert feed.in_use == 0


async def test_the_checked_spec_is_what_the_feed_gets(
    session: Session, feed: FakeChangeFeed
) -> None:
    await handler(feed).poll(WatchChanges(session, "p/", 7, 3, 0.0, True))
    [spec] = feed.specs
    assert (spec.prefix, spec.since, spec.limit, spec.timeout, spec.with_values) == (
        "p/",
        7,
        3,
        0.0,
        True,
    )


async def test_a_stream_answers_at_once_then_follows_until_the_session_ends(
    world: FakeWorld, session: Session
) -> None:
    feed = FakeChangeFeed(world.db)
    h = handler(feed, max_timeout=5)
    batches = h.follow(WatchChanges(session, since=0))
    async with contextlib.aclosing(batches):
        first = await anext(batches)
        assert (first.changes, first.revision, feed.specs[-1].timeout) == ([], 0, 0)
        following = asyncio.ensure_future(anext(batches))
        await asyncio.sleep(0.01)
        world.db.record(session.user_id, [("k", ChangeOp.PUT, 1)])
        second = await following
        assert [c.key for c in second.changes] == ["k"] and feed.specs[-1].timeout == 5
        ending = asyncio.ensure_future(anext(batches))
        await asyncio.sleep(0.01)
        await world.revocations.revoke(session)
        assert (await ending).ended
        with pytest.raises(StopAsyncIteration):
            await anext(batches)
    assert feed.in_use == 0


async def test_a_stream_of_an_ended_session_is_refused(
    world: FakeWorld, session: Session, feed: FakeChangeFeed
) -> None:
    await world.revocations.revoke(session)
    with pytest.raises(SessionExpired):
        await anext(handler(feed).follow(WatchChanges(session)))
    assert feed.in_use == 0


async def test_no_wait_outlasts_the_token(world: FakeWorld, session: Session) -> None:
    feed, clock = FakeChangeFeed(world.db), FakeClock()
    clock.advance(1800 - 5)  # five seconds of the token's life left
    await handler(feed, clock=clock).poll(WatchChanges(session, since=0, timeout=0.01))
    assert feed.specs[-1].timeout == 0.01
    with_room = handler(feed, clock=clock).spec(WatchChanges(session, timeout=60))
    assert with_room.timeout == 60  # the spec itself is the query's
    clock.advance(5)
    with pytest.raises(TokenExpired):
        await handler(feed, clock=clock).poll(WatchChanges(session, since=0))
    assert feed.in_use == 0


async def test_a_stream_ends_when_its_token_expires(world: FakeWorld, session: Session) -> None:
    feed, clock = FakeChangeFeed(world.db), FakeClock()
    clock.advance(1800 - 0.05)
    batches = handler(feed, max_timeout=60, clock=clock).follow(WatchChanges(session, since=0))
    async with contextlib.aclosing(batches):
        assert (await anext(batches)).changes == []
        later = await anext(batches)  # waits what is left of the token, not 60 s
        assert later.changes == [] and feed.specs[-1].timeout == pytest.approx(0.05)
        clock.advance(0.05)
        with pytest.raises(TokenExpired):
            await anext(batches)
    assert feed.in_use == 0
