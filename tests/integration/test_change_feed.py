"""The Tarantool change feed: kv_watch through the adapter, and the watch slots' accounting."""

import asyncio
import contextlib
import time
from datetime import UTC, datetime

import pytest

from kv_api.application.errors import HistoryCompacted, SessionExpired
from kv_api.application.ports import NewUser, Session, WatchSpec, WriteOptions
from kv_api.domain.changes import ChangeOp
from kv_api.domain.users import Profile
from kv_api.infrastructure.tarantool.changes import TarantoolChangeFeed
from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.infrastructure.tarantool.migrations import MigrationRunner
from kv_api.infrastructure.tarantool.sessions import TarantoolTokenRevocations
from kv_api.infrastructure.tarantool.users import TarantoolUserRepository
from tests.conftest import unique_name
from tests.integration.conftest import MIGRATIONS, MakeClient, MakeSession, tarantool_kv
from tests.support.tarantool import TarantoolProcess
from tests.support.waiting import until
from tests.support.watches import until_watches_wait


def spec(since: int | None, timeout: float = 0.0, prefix: str = "") -> WatchSpec:
    return WatchSpec(prefix, since, 100, timeout, with_values=True)


async def test_a_cancelled_watch_ends_in_tarantool_at_once_and_then_frees_its_slot(
    client: TarantoolClient, session: Session
) -> None:
    kv = tarantool_kv(client)
    feed = TarantoolChangeFeed(client, client, max_watches=1, max_per_user=1)
    since = (await kv.write(session, {"k": 1}, WriteOptions())).revision
    started = time.monotonic()
    with feed.watch(session) as watcher:
        waiting = asyncio.create_task(watcher.next(spec(since, timeout=30)))
        await until_watches_wait(client, session.user_id)
        waiting.cancel()  # as a request whose client went away
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
    await until_watches_wait(client, session.user_id, 0, timeout=2)
    await until(lambda: feed.in_use == 0, "the cancelled call gives its slot back", 2)
    assert time.monotonic() - started < 5  # not its 30 s timeout


async def test_values_whole_revisions_and_a_logout_while_waiting(
    client: TarantoolClient, make_session: MakeSession
) -> None:
    session = await make_session()
    kv = tarantool_kv(client)
    feed = TarantoolChangeFeed(client, client, max_watches=5, max_per_user=5)
    await kv.write(session, {"a": {"x": [1]}, "b": None}, WriteOptions())
    with feed.watch(session) as watcher:
        batch = await watcher.next(spec(0))
        assert [(c.key, c.op, c.value, c.has_value) for c in batch.changes] == [
            ("a", ChangeOp.PUT, {"x": [1]}, True),
            ("b", ChangeOp.PUT, None, True),
        ]
        waiting = asyncio.create_task(watcher.next(spec(batch.revision, timeout=30)))
        await until_watches_wait(client, session.user_id)
        await TarantoolTokenRevocations(client).revoke(session)
        ended = await asyncio.wait_for(waiting, 20)
        assert (ended.changes, ended.revision, ended.ended) == ([], batch.revision, True)
        with pytest.raises(SessionExpired):
            await watcher.next(spec(batch.revision))


async def test_purged_history_is_compacted(
    fresh_tarantool: TarantoolProcess, connect: MakeClient
) -> None:
    """On a Tarantool of its own: the purge is by time across every user's log."""
    client = await connect(fresh_tarantool)
    await MigrationRunner(client, MIGRATIONS).apply()
    name = unique_name()
    new = NewUser(name, name, "not-a-real-hash", Profile(), datetime.now(UTC))
    user = await TarantoolUserRepository(client).add(new)
    assert user is not None
    session = Session(user.id, user.token_version, "jti-purge", int(time.time()) + 600)
    kv = tarantool_kv(client)
    feed = TarantoolChangeFeed(client, client, max_watches=5, max_per_user=5)
    await kv.write(session, {"a": 1}, WriteOptions())
    last = await kv.write(session, {"a": 2}, WriteOptions())
    while await feed.purge(before=time.time() + 3600, batch=500):  # everything logged so far
        pass
    with feed.watch(session) as watcher:
        with pytest.raises(HistoryCompacted) as caught:
            await watcher.next(spec(1))
        assert (caught.value.oldest, caught.value.revision) == (last.revision, last.revision)
        assert (await watcher.next(spec(last.revision))).changes == []
        # from the start: what is still kept (nothing), never compacted
        start = await watcher.next(spec(0))
        assert (start.changes, start.revision) == ([], last.revision)


async def test_a_revision_split_into_log_parts_is_answered_whole(
    client: TarantoolClient, session: Session
) -> None:
    kv = tarantool_kv(client)
    feed = TarantoolChangeFeed(client, client, max_watches=5, max_per_user=5)
    keys = {f"k{i:04d}": i for i in range(1200)}  # three parts of at most 500 entries
    big = await kv.write(session, keys, WriteOptions())
    after = await kv.write(session, {"z": 1}, WriteOptions())
    with feed.watch(session) as watcher:
        batch = await watcher.next(WatchSpec("", 0, 10, 0.0))
        assert [c.key for c in batch.changes] == list(keys)
        assert {c.revision for c in batch.changes} == {big.revision} == {batch.revision}
        tail = await watcher.next(WatchSpec("k11", 0, 10, 0.0))  # only in the last part
        assert [c.key for c in tail.changes] == [k for k in keys if k.startswith("k11")]
        assert tail.revision == big.revision  # the limit was reached: the next one waits
        rest = await watcher.next(WatchSpec("k11", tail.revision, 10, 0.0))
        assert (rest.changes, rest.revision) == ([], after.revision)  # passed over: no match


LONG_LOG = 20_500  # single-key revisions: ten times what one call may examine, and more


async def _long_log(client: TarantoolClient, session: Session) -> None:
    """A user whose log holds LONG_LOG revisions, written straight into the log spaces."""
    await client.eval(
        """
        local uid, n = ...
        local now = require('fiber').time()
        for start = 1, n, 1000 do
            box.atomic(function()
                for rev = start, math.min(start + 999, n) do
                    box.space.kv_changes:insert{uid, rev, 1, now, {{'k' .. rev, 'put', 1}}}
                end
            end)
        end
        box.space.kv_revisions:replace{uid, n, n, 0}
        """,
        [session.user_id, LONG_LOG],
    )


async def test_one_call_examines_a_bounded_part_of_the_log_and_looping_reaches_the_end(
    client: TarantoolClient, session: Session
) -> None:
    """A prefix matching nothing must not make one call walk the whole log: Tarantool serves
    nothing else while a call runs. Each answer passes over part of it, and a client looping
    `since` reaches the current revision (the last call waits its timeout there)."""
    await _long_log(client, session)
    feed = TarantoolChangeFeed(client, client, max_watches=1, max_per_user=1)
    with feed.watch(session) as watcher:
        since, calls = 0, 0
        while since < LONG_LOG:
            batch = await asyncio.wait_for(watcher.next(WatchSpec("nothing/", since, 100, 1.0)), 10)
            assert batch.changes == []
            assert since < batch.revision <= LONG_LOG
            since, calls = batch.revision, calls + 1
        assert calls > 1
        since, found = 0, []
        while since < LONG_LOG:
            batch = await watcher.next(WatchSpec("k1999", since, 100, 0.0))
            since, found = batch.revision, found + batch.changes
        expected = ["k1999", *(f"k1999{i}" for i in range(10))]
        assert [(c.key, c.revision) for c in found] == [(k, int(k[1:])) for k in expected]


async def test_a_watch_whose_caller_is_gone_stops_waiting_within_a_second(
    tarantool: TarantoolProcess, connect: MakeClient, client: TarantoolClient, session: Session
) -> None:
    """An API process that dies (or restarts) leaves its watch calls behind in Tarantool; each
    must end once its connection is gone, not wait out its timeout holding a request slot."""
    doomed = await connect(tarantool)
    kv = tarantool_kv(client)
    since = (await kv.write(session, {"k": 1}, WriteOptions())).revision
    feed = TarantoolChangeFeed(doomed, doomed, max_watches=5, max_per_user=5)
    with feed.watch(session) as watcher:
        waiting = asyncio.create_task(watcher.next(spec(since, timeout=60)))
        await until_watches_wait(client, session.user_id)
        await doomed.close()  # as a killed process's connection closes
        with contextlib.suppress(Exception):
            await waiting
        await until_watches_wait(client, session.user_id, 0, timeout=5)
