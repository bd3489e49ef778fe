"""The write path builds MessagePack itself (owner ids in lookup keys, change-log parts, expiry
rows). Tarantool 2.6 finds a key only when its integers are encoded the shortest way, as the
API's encoder does: an owner id of 128-255 once came out as a 16-bit integer, so conditions saw
existing keys as absent and the change log repeated revisions. Each test here runs for owners
whose ids take each encoding width."""

from collections.abc import Awaitable, Callable

import pytest

from kv_api.application.errors import VersionConflict
from kv_api.application.ports import Session, WatchSpec, WriteOptions
from kv_api.infrastructure.tarantool.changes import TarantoolChangeFeed
from kv_api.infrastructure.tarantool.client import TarantoolClient
from tests.integration.conftest import MakeSession, tarantool_kv

# owner ids taking 8-, 16- and 32-bit encodings
WIDTHS = [150, 40_000, 70_000]

MakeOwner = Callable[[int], Awaitable[Session]]


@pytest.fixture
def owner_at(client: TarantoolClient, make_session: MakeSession) -> MakeOwner:
    async def make(at_least: int) -> Session:
        await client.eval(
            "local s = box.sequence.kv_users_id "
            "local started, current = pcall(s.current, s) "
            "if not started or current < ... then s:set(...) end",
            [at_least],
        )
        return await make_session()

    return make


@pytest.mark.parametrize("at_least", WIDTHS)
async def test_conditions_see_existing_keys_whatever_the_owner_id(
    client: TarantoolClient, owner_at: MakeOwner, at_least: int
) -> None:
    session = await owner_at(at_least)
    kv = tarantool_kv(client)
    await kv.write(session, {"a": 1, "b": 1}, WriteOptions())
    with pytest.raises(VersionConflict) as caught:
        await kv.write(session, {"a": 2}, WriteOptions(if_version={"a": 0, "b": 1}))
    assert caught.value.conflicts == {"a": (0, 1)}
    written = await kv.write(session, {"a": 2}, WriteOptions(if_version={"a": 1, "b": 1}))
    assert written.written == 1


@pytest.mark.parametrize("at_least", WIDTHS)
async def test_the_change_log_answers_each_revision_once_whatever_the_owner_id(
    client: TarantoolClient, owner_at: MakeOwner, at_least: int
) -> None:
    session = await owner_at(at_least)
    kv = tarantool_kv(client)
    feed = TarantoolChangeFeed(client, client, max_watches=1, max_per_user=1)
    revisions = [(await kv.write(session, {f"k{i}": i}, WriteOptions())).revision for i in range(3)]
    assert revisions == [1, 2, 3]
    with feed.watch(session) as watcher:
        after_first = await watcher.next(WatchSpec("", 1, 100, 0.0, with_values=False))
    assert [(c.key, c.revision) for c in after_first.changes] == [("k1", 2), ("k2", 3)]
