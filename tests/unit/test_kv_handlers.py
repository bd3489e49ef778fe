from typing import Any

import pytest

from kv_api.application.errors import SessionExpired
from kv_api.application.kv.commands import DeleteBatch, ListKeys, ReadBatch, WriteBatch
from kv_api.application.kv.handlers import (
    DeleteBatchHandler,
    ListKeysHandler,
    ReadBatchHandler,
    WriteBatchHandler,
)
from kv_api.application.ports import Session, WriteOptions
from kv_api.domain.errors import BatchTooLarge, InvalidField, InvalidKey, InvalidValue
from kv_api.domain.keys import BatchLimits, WriteMode
from tests.unit.fakes import FakeBatchEncoder, FakeWorld, session_of

LIMITS = BatchLimits(
    max_items=5, max_value_bytes=64, max_depth=3, max_list_limit=50, default_list_limit=20
)


@pytest.fixture
async def session(world: FakeWorld) -> Session:
    return session_of(await world.add_user("alice"))


async def write(
    world: FakeWorld,
    session: Session,
    items: dict[str, Any],
    mode: WriteMode = WriteMode.UPSERT,
    limits: BatchLimits = LIMITS,
) -> Any:
    handler = WriteBatchHandler(world.kv, limits)
    batch = FakeBatchEncoder(limits).from_items(items)
    return await handler(WriteBatch(session, batch, WriteOptions(mode)))


async def read(world: FakeWorld, session: Session, keys: list[str]) -> Any:
    return await ReadBatchHandler(world.kv, LIMITS)(ReadBatch(session, keys))


class TestWriteBatch:
    async def test_values_round_trip_exactly(self, world: FakeWorld, session: Session) -> None:
        items = {"f": 1.5, "n": None, "b": False, "o": {"z": 1, "a": [1, "x"]}, "i": -(2**63)}
        outcome = await write(world, session, items)
        assert (outcome.written, outcome.skipped) == (5, [])
        found = (await read(world, session, list(items))).found
        assert found == items
        assert list(found["o"]) == ["z", "a"]

    async def test_upsert_overwrites(self, world: FakeWorld, session: Session) -> None:
        await write(world, session, {"k": 1})
        assert (await write(world, session, {"k": 2})).written == 1
        assert (await read(world, session, ["k"])).found == {"k": 2}

    async def test_insert_skips_existing_keys(self, world: FakeWorld, session: Session) -> None:
        await write(world, session, {"old": 1})
        outcome = await write(world, session, {"new": 2, "old": 3}, WriteMode.INSERT)
        assert (outcome.written, outcome.skipped) == (1, ["old"])
        assert (await read(world, session, ["old", "new"])).found == {"old": 1, "new": 2}

    async def test_batch_and_key_limits(self, world: FakeWorld, session: Session) -> None:
        with pytest.raises(BatchTooLarge):
            await write(world, session, {})
        with pytest.raises(BatchTooLarge):
            await write(world, session, {str(i): i for i in range(6)})
        with pytest.raises(InvalidKey):
            await write(world, session, {"": 1})
        with pytest.raises(InvalidKey):
            await write(world, session, {"\ud800": 1})
        with pytest.raises(InvalidValue, match="nested deeper"):
            await write(world, session, {"deep": [[[[1]]]]})
        assert world.kv.written == []

    async def test_expired_session(self, world: FakeWorld, session: Session) -> None:
        await world.revocations.revoke(session)
        with pytest.raises(SessionExpired):
            await write(world, session, {"k": 1})


class TestReadBatch:
    async def test_duplicates_are_answered_once(self, world: FakeWorld, session: Session) -> None:
        await write(world, session, {"a": 1, "b": 2})
        result = await read(world, session, ["a", "zz", "a", "b", "zz"])
        assert result.found == {"a": 1, "b": 2}
        assert result.not_found == ["zz"]
        assert world.kv.read_requests == [["a", "zz", "b"]]

    async def test_not_found_keeps_request_order(self, world: FakeWorld, session: Session) -> None:
        await write(world, session, {"m": 1})
        assert (await read(world, session, ["z", "m", "a", "q"])).not_found == ["z", "a", "q"]

    async def test_users_see_only_their_own_keys(self, world: FakeWorld, session: Session) -> None:
        other = session_of(await world.add_user("bob"))
        await write(world, other, {"secret": 1})
        assert (await read(world, session, ["secret"])).not_found == ["secret"]

    async def test_limits(self, world: FakeWorld, session: Session) -> None:
        with pytest.raises(BatchTooLarge):
            await read(world, session, [])
        with pytest.raises(BatchTooLarge):
            await read(world, session, ["a"] * 6)
        with pytest.raises(InvalidKey):
            await read(world, session, ["a", ""])
        assert world.kv.read_requests == []

    async def test_expired_session(self, world: FakeWorld, session: Session) -> None:
        await world.users.delete(session)
        with pytest.raises(SessionExpired):
            await read(world, session, ["a"])


class TestDeleteBatch:
    async def test_counts_keys_that_existed(self, world: FakeWorld, session: Session) -> None:
        await write(world, session, {"a": 1, "b": 2, "c": 3})
        handler = DeleteBatchHandler(world.kv, LIMITS)
        assert (await handler(DeleteBatch(session, ["a", "a", "missing", "b"]))).deleted == 2
        assert world.kv.delete_requests == [["a", "missing", "b"]]
        assert (await read(world, session, ["a", "b", "c"])).found == {"c": 3}

    async def test_limits_and_session(self, world: FakeWorld, session: Session) -> None:
        handler = DeleteBatchHandler(world.kv, LIMITS)
        with pytest.raises(BatchTooLarge):
            await handler(DeleteBatch(session, []))
        with pytest.raises(InvalidKey):
            await handler(DeleteBatch(session, ["x" * 1025]))
        await world.revocations.revoke(session)
        with pytest.raises(SessionExpired):
            await handler(DeleteBatch(session, ["a"]))


class TestListKeys:
    async def list_limit(self, world: FakeWorld, session: Session, limit: int | None) -> int:
        await ListKeysHandler(world.kv, LIMITS)(ListKeys(session, limit=limit))
        return world.kv.list_requests[-1][2]

    async def test_default_limit(self, world: FakeWorld, session: Session) -> None:
        assert await self.list_limit(world, session, None) == 20

    async def test_shipped_defaults_are_100_of_at_most_1000(
        self, world: FakeWorld, session: Session
    ) -> None:
        handler = ListKeysHandler(world.kv, BatchLimits())
        await handler(ListKeys(session))
        await handler(ListKeys(session, limit=1000))
        assert [limit for _, _, limit in world.kv.list_requests] == [100, 1000]
        with pytest.raises(InvalidField, match="limit: must be between 1 and 1000"):
            await handler(ListKeys(session, limit=1001))

    @pytest.mark.parametrize("asked", [1, 7, 50])
    async def test_a_limit_within_bounds_is_used(
        self, world: FakeWorld, session: Session, asked: int
    ) -> None:
        assert await self.list_limit(world, session, asked) == asked

    @pytest.mark.parametrize("asked", [0, -5, 51, 10**9])
    async def test_a_limit_out_of_bounds_is_refused_naming_it(
        self, world: FakeWorld, session: Session, asked: int
    ) -> None:
        with pytest.raises(InvalidField) as exc:
            await self.list_limit(world, session, asked)
        assert exc.value.fields == {"limit": ["must be between 1 and 50"]}
        assert world.kv.list_requests == []

    async def test_a_prefix_longer_than_a_key_is_refused(
        self, world: FakeWorld, session: Session
    ) -> None:
        handler = ListKeysHandler(world.kv, BatchLimits())
        await handler(ListKeys(session, prefix="é" * 512))
        with pytest.raises(InvalidField, match="prefix: must be at most 1024 bytes"):
            await handler(ListKeys(session, prefix="é" * 512 + "x"))

    async def test_pages_by_prefix_and_cursor(self, world: FakeWorld, session: Session) -> None:
        await write(world, session, {"user:1": 1, "user:2": 2, "user:3": 3, "x": 0})
        handler = ListKeysHandler(world.kv, LIMITS)
        first = await handler(ListKeys(session, prefix="user:", limit=2))
        assert (first.keys, first.has_more) == (["user:1", "user:2"], True)
        rest = await handler(ListKeys(session, prefix="user:", after="user:2", limit=2))
        assert (rest.keys, rest.has_more) == (["user:3"], False)

    async def test_expired_session(self, world: FakeWorld, session: Session) -> None:
        await world.revocations.revoke(session)
        with pytest.raises(SessionExpired):
            await ListKeysHandler(world.kv, LIMITS)(ListKeys(session))
