"""The rules of expiry, versions and conditional writes, through the handlers, against the fakes
(which follow the Lua functions) with a clock the test moves."""

import math
from typing import Any

import pytest

from kv_api.application.errors import VersionConflict
from kv_api.application.kv.commands import DeleteBatch, ReadBatch, WriteBatch
from kv_api.application.kv.handlers import DeleteBatchHandler, ReadBatchHandler, WriteBatchHandler
from kv_api.application.ports import ExpiryPurge, Session, WriteOptions
from kv_api.domain.errors import BatchTooLarge, InvalidKey, InvalidTtl, InvalidVersion
from kv_api.domain.keys import MAX_VERSION, BatchLimits, PairMeta, WriteMode
from tests.unit.fakes import FakeBatchEncoder, FakeDatabase, FakeWorld, session_of

LIMITS = BatchLimits(max_items=5, min_ttl=10, max_ttl=1000)
UPSERT, INSERT = WriteMode.UPSERT, WriteMode.INSERT


class StoreClock:
    """The store's clock (FakeDatabase.now), moved by the test."""

    def __init__(self, start: float = 1_800_000_000.25) -> None:
        self.current = start

    def __call__(self) -> float:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += seconds


@pytest.fixture
def clock() -> StoreClock:
    return StoreClock()


@pytest.fixture
def world(clock: StoreClock) -> FakeWorld:
    return FakeWorld(db=FakeDatabase(now=clock))


@pytest.fixture
async def session(world: FakeWorld) -> Session:
    return session_of(await world.add_user("alice"))


class Kv:
    def __init__(self, world: FakeWorld, session: Session) -> None:
        self.world, self.session = world, session

    async def write(self, items: dict[str, Any], mode: WriteMode = UPSERT, **options: Any) -> Any:
        batch = FakeBatchEncoder(LIMITS).from_items(items)
        command = WriteBatch(self.session, batch, WriteOptions(mode, **options))
        return await WriteBatchHandler(self.world.kv, LIMITS)(command)

    async def delete(self, keys: list[str], if_version: dict[str, int] | None = None) -> Any:
        command = DeleteBatch(self.session, keys, if_version or {})
        return await DeleteBatchHandler(self.world.kv, LIMITS)(command)

    async def meta(self, keys: list[str]) -> dict[str, PairMeta]:
        result = await ReadBatchHandler(self.world.kv, LIMITS)(ReadBatch(self.session, keys, True))
        assert result.meta is not None
        assert set(result.meta) == set(result.found)
        return result.meta

    async def values(self, keys: list[str]) -> dict[str, Any]:
        return (await ReadBatchHandler(self.world.kv, LIMITS)(ReadBatch(self.session, keys))).found


@pytest.fixture
def kv(world: FakeWorld, session: Session) -> Kv:
    return Kv(world, session)


class TestTtlRules:
    @pytest.mark.parametrize("seconds", [-1, 0, 9, 1001, 2**63])
    async def test_a_batch_ttl_out_of_bounds_is_refused_as_ttl(self, kv: Kv, seconds: int) -> None:
        with pytest.raises(InvalidTtl) as caught:
            await kv.write({"a": 1}, ttl=seconds)
        assert caught.value.key is None
        assert caught.value.message.startswith("ttl: must be between 10 and 1000 seconds")
        assert kv.world.kv.written == []

    @pytest.mark.parametrize("seconds", [0, 9, 1001])
    async def test_a_key_ttl_out_of_bounds_is_refused_naming_the_key(
        self, kv: Kv, seconds: int
    ) -> None:
        with pytest.raises(InvalidTtl) as caught:
            await kv.write({"a": 1, "b": 2}, ttls={"a": 100, "b": seconds})
        assert caught.value.key == "b"
        assert "ttl of key 'b'" in caught.value.message
        assert kv.world.kv.written == []

    async def test_the_bounds_themselves_are_accepted(self, kv: Kv, clock: StoreClock) -> None:
        await kv.write({"a": 1, "b": 2}, ttl=10, ttls={"b": 1000})
        meta = await kv.meta(["a", "b"])
        assert meta["a"].expires_at == math.ceil(clock() + 10)
        assert meta["b"].expires_at == math.ceil(clock() + 1000)

    async def test_ttls_keys_are_checked_like_keys(self, kv: Kv) -> None:
        with pytest.raises(InvalidKey):
            await kv.write({"a": 1}, ttls={"": 100})
        with pytest.raises(InvalidKey):
            await kv.write({"a": 1}, ttls={"x" * 1025: 100})
        with pytest.raises(BatchTooLarge):  # as many entries as a batch may hold, no more
            await kv.write({"a": 1}, ttls={str(i): 100 for i in range(6)})
        assert kv.world.kv.written == []

    async def test_ttls_override_ttl_and_ignore_keys_not_written(
        self, kv: Kv, clock: StoreClock
    ) -> None:
        await kv.write({"a": 1, "b": 2}, ttl=500, ttls={"b": 20, "absent": 30})
        meta = await kv.meta(["a", "b", "absent"])
        assert set(meta) == {"a", "b"}
        assert (meta["a"].expires_at, meta["b"].expires_at) == (
            math.ceil(clock() + 500),
            math.ceil(clock() + 20),
        )

    async def test_ttls_alone_leave_the_other_keys_without_expiry(self, kv: Kv) -> None:
        await kv.write({"a": 1, "b": 2}, ttls={"b": 20})
        assert (await kv.meta(["a"]))["a"].expires_at is None

    async def test_expires_at_is_rounded_up_to_a_whole_second(
        self, kv: Kv, clock: StoreClock
    ) -> None:
        clock.current = 1_800_000_000.001
        await kv.write({"a": 1}, ttl=10)
        assert (await kv.meta(["a"]))["a"].expires_at == 1_800_000_011

    async def test_a_write_without_ttl_removes_the_expiry(self, kv: Kv, clock: StoreClock) -> None:
        await kv.write({"a": 1}, ttl=10)
        await kv.write({"a": 2})
        assert (await kv.meta(["a"]))["a"] == PairMeta(2, None)
        clock.advance(5000)
        assert await kv.values(["a"]) == {"a": 2}

    async def test_a_new_ttl_replaces_the_old_one(self, kv: Kv, clock: StoreClock) -> None:
        await kv.write({"a": 1}, ttl=1000)
        await kv.write({"a": 2}, ttl=10)
        clock.advance(11)
        assert await kv.values(["a"]) == {}


class TestExpiry:
    async def test_a_pair_is_gone_from_the_second_it_expires(
        self, kv: Kv, clock: StoreClock
    ) -> None:
        await kv.write({"a": 1, "keep": 2}, ttls={"a": 10})
        expires_at = (await kv.meta(["a"]))["a"].expires_at
        assert expires_at is not None
        clock.current = expires_at - 0.001
        assert await kv.values(["a"]) == {"a": 1}
        clock.current = expires_at
        assert await kv.values(["a", "keep"]) == {"keep": 2}
        page = await kv.world.kv.list_keys(kv.session, "", None, 10)
        assert page.keys == ["keep"]

    async def test_delete_does_not_count_an_expired_pair(self, kv: Kv, clock: StoreClock) -> None:
        await kv.write({"a": 1, "b": 2}, ttls={"a": 10})
        clock.advance(11)
        assert (await kv.delete(["a", "b"])).deleted == 1

    async def test_an_expired_key_is_absent_to_insert_and_restarts_at_1(
        self, kv: Kv, clock: StoreClock
    ) -> None:
        await kv.write({"a": 1}, ttl=10)
        await kv.write({"a": 2}, ttl=10)
        clock.advance(11)
        outcome = await kv.write({"a": 3}, INSERT)
        assert (outcome.written, outcome.skipped) == (1, [])
        assert (await kv.meta(["a"]))["a"] == PairMeta(1, None)

    async def test_purge_removes_only_expired_pairs_in_bounded_steps(
        self, kv: Kv, clock: StoreClock
    ) -> None:
        await kv.write({"a": 1, "b": 2, "c": 3, "keep": 4}, ttls={"a": 10, "b": 10, "c": 10})
        assert await kv.world.kv.purge_expired(10) == ExpiryPurge(0, more=False)
        clock.advance(11)
        assert await kv.world.kv.purge_expired(2) == ExpiryPurge(2, more=True)
        assert await kv.world.kv.purge_expired(2) == ExpiryPurge(1, more=False)
        assert await kv.world.kv.purge_expired(2) == ExpiryPurge(0, more=False)
        assert kv.world.db.data[kv.session.user_id].keys() == {"keep"}


class TestVersions:
    async def test_created_at_1_and_one_more_per_overwrite(self, kv: Kv) -> None:
        await kv.write({"a": 1})
        await kv.write({"a": 2, "b": 1})
        await kv.write({"a": 3})
        meta = await kv.meta(["a", "b"])
        assert (meta["a"].version, meta["b"].version) == (3, 1)

    async def test_insert_mode_leaves_a_skipped_version_alone(self, kv: Kv) -> None:
        await kv.write({"a": 1})
        assert (await kv.write({"a": 2}, INSERT)).skipped == ["a"]
        assert (await kv.meta(["a"]))["a"].version == 1

    async def test_a_recreated_key_starts_again_at_1(self, kv: Kv) -> None:
        await kv.write({"a": 1})
        await kv.write({"a": 2})
        await kv.delete(["a"])
        await kv.write({"a": 3})
        assert (await kv.meta(["a"]))["a"].version == 1

    async def test_revision_advances_only_on_a_change(self, kv: Kv) -> None:
        first = (await kv.write({"a": 1})).revision
        assert first >= 1
        assert (await kv.write({"a": 1}, INSERT)).revision == first
        assert (await kv.delete(["missing"])).revision == first
        with pytest.raises(VersionConflict):
            await kv.write({"a": 2}, if_version={"a": 7})
        assert (await kv.delete(["a"])).revision == first + 1
        assert (await kv.write({"a": 1, "b": 2})).revision == first + 2


class TestIfVersionRules:
    @pytest.mark.parametrize("version", [-1, MAX_VERSION + 1, 2**64])
    async def test_a_version_out_of_range_is_refused_naming_the_key(
        self, kv: Kv, version: int
    ) -> None:
        for attempt in (
            kv.write({"a": 1}, if_version={"a": 1, "b": version}),
            kv.delete(["a"], {"a": 1, "b": version}),
        ):
            with pytest.raises(InvalidVersion) as caught:
                await attempt
            assert caught.value.key == "b"
        assert kv.world.kv.written == [] and kv.world.kv.delete_requests == []

    @pytest.mark.parametrize(
        ("expected", "error"),
        [
            ({"": 1}, InvalidKey),
            ({"x" * 1025: 1}, InvalidKey),
            ({str(i): 0 for i in range(6)}, BatchTooLarge),
        ],
        ids=["empty key", "long key", "too many"],
    )
    async def test_bad_keys_are_refused(
        self, kv: Kv, expected: dict[str, int], error: type[Exception]
    ) -> None:
        with pytest.raises(error):
            await kv.write({"a": 1}, if_version=expected)
        with pytest.raises(error):
            await kv.delete(["a"], expected)
        assert kv.world.kv.written == [] and kv.world.kv.delete_requests == []

    async def test_the_largest_version_is_a_valid_condition(self, kv: Kv) -> None:
        with pytest.raises(VersionConflict) as caught:
            await kv.write({"a": 1}, if_version={"a": MAX_VERSION})
        assert caught.value.conflicts == {"a": (MAX_VERSION, 0)}

    async def test_a_failed_condition_writes_nothing_and_names_every_key(self, kv: Kv) -> None:
        await kv.write({"a": 1, "b": 1})
        await kv.write({"a": 2})
        with pytest.raises(VersionConflict) as caught:
            await kv.write({"a": 3, "b": 3, "c": 3}, if_version={"a": 1, "b": 1, "c": 0, "gone": 4})
        assert caught.value.conflicts == {"a": (1, 2), "gone": (4, 0)}
        assert caught.value.code == "version_conflict"
        assert await kv.values(["a", "b", "c"]) == {"a": 2, "b": 1}

    async def test_conditions_hold_and_unnamed_keys_are_unconditional(self, kv: Kv) -> None:
        await kv.write({"a": 1, "b": 1})
        outcome = await kv.write({"a": 2, "b": 2, "c": 2}, if_version={"a": 1, "c": 0})
        assert outcome.written == 3
        meta = await kv.meta(["a", "b", "c"])
        assert [meta[k].version for k in "abc"] == [2, 2, 1]

    async def test_version_0_means_create_only(self, kv: Kv, clock: StoreClock) -> None:
        assert (await kv.write({"a": 1}, if_version={"a": 0})).written == 1
        with pytest.raises(VersionConflict) as caught:
            await kv.write({"a": 2}, if_version={"a": 0})
        assert caught.value.conflicts == {"a": (0, 1)}
        await kv.write({"a": 3}, ttl=10)
        clock.advance(11)
        assert (await kv.write({"a": 4}, if_version={"a": 0})).written == 1

    async def test_conditions_on_keys_not_written_are_still_checked(self, kv: Kv) -> None:
        await kv.write({"guard": 1})
        with pytest.raises(VersionConflict):
            await kv.write({"a": 1}, if_version={"guard": 2})
        assert (await kv.write({"a": 1}, if_version={"guard": 1})).written == 1
        assert (await kv.meta(["guard"]))["guard"].version == 1

    async def test_insert_mode_still_skips_under_conditions(self, kv: Kv) -> None:
        await kv.write({"a": 1})
        outcome = await kv.write({"a": 2, "b": 2}, INSERT, if_version={"a": 1})
        assert (outcome.written, outcome.skipped) == (1, ["a"])
        assert await kv.values(["a", "b"]) == {"a": 1, "b": 2}

    async def test_a_failed_delete_condition_deletes_nothing(self, kv: Kv) -> None:
        await kv.write({"a": 1, "b": 1})
        with pytest.raises(VersionConflict) as caught:
            await kv.delete(["a", "b"], {"a": 1, "b": 2})
        assert caught.value.conflicts == {"b": (2, 1)}
        assert await kv.values(["a", "b"]) == {"a": 1, "b": 1}
        assert (await kv.delete(["a", "b"], {"a": 1, "b": 1})).deleted == 2
