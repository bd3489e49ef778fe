"""The change feed's contract, run against the in-memory fake and the Tarantool adapter alike:
what a watch answers, how it waits and ends, and how its slots are held."""

import asyncio
import contextlib

import pytest

from kv_api.application.errors import SessionExpired, TooManyWatches
from kv_api.application.ports import WatchSpec, WriteOptions
from kv_api.domain.changes import ChangeOp
from tests.integration.conftest import FEED_SLOTS, Backend


def spec(since: int | None, timeout: float = 0.0, prefix: str = "", limit: int = 100) -> WatchSpec:
    return WatchSpec(prefix, since, limit, timeout, with_values=True)


async def until(condition: object, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


async def test_changes_after_since_in_whole_revisions_by_prefix(backend: Backend) -> None:
    _, session = await backend.new_user()
    items = {"a/1": {"x": [1]}, "b/1": None, "c/1": None}
    first = await backend.kv.write(session, items, WriteOptions())
    await backend.kv.write(session, {"a/1": 2}, WriteOptions())
    last = await backend.kv.delete(session, ["b/1"], {})
    with backend.feed.watch(session) as watcher:
        batch = await watcher.next(spec(0, limit=1))
        assert [(c.key, c.op, c.version, c.revision) for c in batch.changes] == [
            ("a/1", ChangeOp.PUT, 1, first.revision),
            ("b/1", ChangeOp.PUT, 1, first.revision),
            ("c/1", ChangeOp.PUT, 1, first.revision),
        ]
        # a value (null too) only while its put is still the key's current, live version
        values = [(c.value, c.has_value) for c in batch.changes]
        assert values == [(None, False), (None, False), (None, True)]
        assert batch.revision == first.revision
        rest = await watcher.next(spec(batch.revision, prefix="b/"))
        assert [(c.key, c.op) for c in rest.changes] == [("b/1", ChangeOp.DELETE)]
        assert rest.revision == last.revision
        assert (await watcher.next(spec(None))).changes == []


async def test_a_watch_waits_for_the_next_change_of_its_own_user(backend: Backend) -> None:
    _, session = await backend.new_user()
    _, other = await backend.new_user()
    start = (await backend.kv.write(session, {"k": 1}, WriteOptions())).revision
    with backend.feed.watch(session) as watcher:
        waiting = asyncio.create_task(watcher.next(spec(start, timeout=20)))
        await backend.kv.write(other, {"k": 1}, WriteOptions())
        await asyncio.sleep(0.2)
        assert not waiting.done()
        written = await backend.kv.write(session, {"k": 2}, WriteOptions())
        batch = await asyncio.wait_for(waiting, 10)
    assert [(c.key, c.version, c.value) for c in batch.changes] == [("k", 2, 2)]
    assert (batch.revision, batch.ended) == (written.revision, False)


async def test_a_logout_while_waiting_ends_the_watch(backend: Backend) -> None:
    _, session = await backend.new_user()
    with backend.feed.watch(session) as watcher:
        waiting = asyncio.create_task(watcher.next(spec(0, timeout=20)))
        await asyncio.sleep(0.2)
        await backend.revocations.revoke(session)
        ended = await asyncio.wait_for(waiting, 10)
        assert (ended.changes, ended.revision, ended.ended) == ([], 0, True)
        with pytest.raises(SessionExpired):
            await watcher.next(spec(0))


async def test_a_session_no_longer_valid_is_refused(backend: Backend) -> None:
    _, session = await backend.new_user()
    await backend.revocations.revoke(session)
    with backend.feed.watch(session) as watcher, pytest.raises(SessionExpired):
        await watcher.next(spec(0))
    assert backend.feed.in_use == 0


async def test_slots_are_bounded_per_process_and_per_user(backend: Backend) -> None:
    _, hog = await backend.new_user()
    _, other = await backend.new_user()
    with backend.feed.watch(hog), backend.feed.watch(hog):
        with pytest.raises(TooManyWatches, match="this user"), backend.feed.watch(hog):
            pass
        with backend.feed.watch(other) as watcher:
            assert backend.feed.in_use == FEED_SLOTS
            with pytest.raises(TooManyWatches, match="the server"), backend.feed.watch(other):
                pass
            assert (await watcher.next(spec(0))).changes == []
    assert backend.feed.in_use == 0


async def test_an_abandoned_call_is_ended_and_then_gives_its_slot_back(
    backend: Backend,
) -> None:
    _, session = await backend.new_user()
    start = (await backend.kv.write(session, {"k": 1}, WriteOptions())).revision
    with backend.feed.watch(session) as watcher:
        abandoned = asyncio.create_task(watcher.next(spec(start, timeout=20)))
        await asyncio.sleep(0.2)
        abandoned.cancel()  # as a request whose client went away
        with contextlib.suppress(asyncio.CancelledError):
            await abandoned
    await until(lambda: backend.feed.in_use == 0, 2.0)  # not its 20 s timeout


async def test_a_revision_over_the_bound_comes_in_fragments_each_change_once(
    backend: Backend,
) -> None:
    _, session = await backend.new_user()
    values = {f"k{i}": "v" * 1000 for i in range(10)}
    big = await backend.kv.write(session, values, WriteOptions())
    after = await backend.kv.write(session, {"z": 1}, WriteOptions())
    feed = backend.bounded_feed(3000)  # about two of those values per answer
    since, offset, seen, fragments = 0, 0, [], 0
    with feed.watch(session) as watcher:
        while True:
            batch = await watcher.next(WatchSpec("", since, 100, 0.0, True, offset))
            if not batch.changes and not batch.offset:
                break
            assert len(batch.changes) <= 3
            seen += batch.changes
            fragments += bool(batch.offset)
            since, offset = batch.revision, batch.offset
    assert [c.key for c in seen] == [*values, "z"]
    assert [c.revision for c in seen] == [big.revision] * 10 + [after.revision]
    assert all(c.value == values[c.key] for c in seen[:10])
    assert fragments >= 3
