"""Quotas and usage: the fakes and the Lua functions alike (see `backend`). Usage is the user's
stored pairs and the sum of their tuples' bsize(), equal to a full count after every change;
a write that would pass a limit is refused whole."""

import dataclasses

import pytest

from kv_api.application.errors import QuotaExceeded, SessionExpired, VersionConflict
from kv_api.application.ports import Session, WriteOptions
from kv_api.domain.keys import WriteMode
from kv_api.domain.quotas import (
    Limits,
    NearQuota,
    Own,
    OwnLimit,
    OwnLimits,
    QuotaPolicy,
    Standing,
    Usage,
)
from kv_api.domain.users import User
from tests.integration.conftest import Backend
from tests.integration.test_contract_kv import purge_all, wait_until_expired
from tests.unit.fakes import StoredPair, stored_size

UPSERT, INSERT = WriteOptions(WriteMode.UPSERT), WriteOptions(WriteMode.INSERT)
DEFAULTS = QuotaPolicy().defaults


async def usage_of(backend: Backend, session: Session) -> Usage:
    _, standing = await backend.quotas.of_session(session)
    return standing.usage


async def assert_exact(backend: Backend, user: User, session: Session) -> Usage:
    usage = await usage_of(backend, session)
    assert (usage.keys, usage.bytes) == await backend.stored_usage(user.id)
    return usage


async def own(
    backend: Backend, user: User, keys: OwnLimit | None = None, size: OwnLimit | None = None
) -> Standing:
    found = await backend.quotas.set_own(user.username.casefold(), keys, size)
    assert found is not None and found[0] == user.username
    return found[1]


async def test_usage_is_the_stored_tuples_sizes(backend: Backend) -> None:
    user, session = await backend.new_user()
    assert await usage_of(backend, session) == Usage(0, 0)
    await backend.kv.write(session, {"a": "x", "b": {"n": [1, 2.5, None]}}, UPSERT)
    expected = stored_size(user.id, "a", StoredPair("x", 1, None)) + stored_size(
        user.id, "b", StoredPair({"n": [1, 2.5, None]}, 1, None)
    )
    assert await assert_exact(backend, user, session) == Usage(2, expected)


async def test_usage_follows_overwrites_inserts_expiry_and_deletes(backend: Backend) -> None:
    user, session = await backend.new_user()
    await backend.kv.write(session, {"a": "x" * 100, "b": 1, "c": [1, 2, 3]}, UPSERT)
    await assert_exact(backend, user, session)
    await backend.kv.write(session, {"a": "short", "b": "x" * 500}, UPSERT)  # smaller, larger
    await assert_exact(backend, user, session)
    skipped = await backend.kv.write(session, {"a": "x" * 900, "d": 4}, INSERT)
    assert skipped.skipped == ["a"]
    assert (await assert_exact(backend, user, session)).keys == 4
    await backend.kv.write(session, {"t1": 1, "t2": 2}, WriteOptions(ttl=1))
    await backend.kv.write(session, {"c": "expires"}, WriteOptions(ttls={"c": 1}))
    await wait_until_expired(backend, session, ["t1", "t2", "c"])
    # an expired pair counts until it is removed: overwritten, deleted or purged
    assert (await assert_exact(backend, user, session)).keys == 6
    await backend.kv.write(session, {"t1": "again"}, UPSERT)
    await backend.kv.delete(session, ["t2", "b", "missing"], {})
    assert (await assert_exact(backend, user, session)).keys == 4
    await purge_all(backend)
    assert await assert_exact(backend, user, session) == await usage_of(backend, session)
    assert (await usage_of(backend, session)).keys == 3  # a, d, t1
    await backend.kv.delete(session, ["a", "d", "t1"], {})
    assert await assert_exact(backend, user, session) == Usage(0, 0)


async def test_a_write_past_the_keys_limit_is_refused_whole(backend: Backend) -> None:
    user, session = await backend.new_user()
    _, bystander = await backend.new_user()
    assert (await own(backend, user, keys=3)).own == OwnLimits(3, Own.DEFAULT)
    await backend.kv.write(session, {"a": 1, "b": 2}, UPSERT)
    before = await assert_exact(backend, user, session)

    with pytest.raises(QuotaExceeded) as refused:
        await backend.kv.write(session, {"a": 10, "c": 3, "d": 4}, UPSERT)

    error = refused.value
    assert (error.usage, error.limits) == (before, Limits(3, DEFAULTS.bytes))
    assert error.after.keys == 4 and "keys 4 over the limit of 3" in error.message
    assert await backend.kv.read(session, ["a", "c", "d"]) == {"a": 1}
    assert await assert_exact(backend, user, session) == before
    written = await backend.kv.write(session, {"a": 10, "c": 3}, UPSERT)  # 3 keys: at the limit
    assert written.written == 2
    assert (await backend.kv.write(bystander, {"x": 1, "y": 2, "z": 3, "w": 4}, UPSERT)).written
    assert (await backend.kv.write(session, {"c": "overwrites add no key"}, UPSERT)).written


async def test_bytes_may_shrink_but_not_grow_past_the_limit(backend: Backend) -> None:
    user, session = await backend.new_user()
    await backend.kv.write(session, {"big": "x" * 1000, "small": 1}, UPSERT)
    usage = await assert_exact(backend, user, session)
    await own(backend, user, size=usage.bytes + 10)
    await backend.kv.write(session, {"small": "x" * 9}, UPSERT)  # grows within the limit
    with pytest.raises(QuotaExceeded) as refused:
        await backend.kv.write(session, {"small": "x" * 100}, UPSERT)
    assert "stored bytes" in refused.value.message
    await own(backend, user, size=100)  # lowered below what the user stores
    shrunk = await backend.kv.write(session, {"big": "x" * 500}, UPSERT)
    assert shrunk.written == 1
    with pytest.raises(QuotaExceeded):
        await backend.kv.write(session, {"big": "x" * 501}, UPSERT)
    with pytest.raises(QuotaExceeded):
        await backend.kv.write(session, {"new": None}, UPSERT)
    await backend.kv.delete(session, ["big"], {})  # deletes always go through
    await assert_exact(backend, user, session)


async def test_refused_conditions_and_insert_skips_change_no_usage(backend: Backend) -> None:
    user, session = await backend.new_user()
    await backend.kv.write(session, {"a": 1}, UPSERT)
    before = await assert_exact(backend, user, session)
    with pytest.raises(VersionConflict):
        await backend.kv.write(session, {"a": 2, "b": 3}, WriteOptions(if_version={"a": 7}))
    with pytest.raises(VersionConflict):
        await backend.kv.delete(session, ["a"], {"a": 7})
    assert (await backend.kv.write(session, {"a": "x" * 100}, INSERT)).written == 0
    assert await assert_exact(backend, user, session) == before
    await own(backend, user, keys=1)
    with pytest.raises(QuotaExceeded):  # a condition that holds does not pass a limit
        await backend.kv.write(session, {"a": 2, "b": 3}, WriteOptions(if_version={"a": 1}))
    assert await backend.kv.read(session, ["a", "b"]) == {"a": 1}


async def test_own_limits_unlimited_default_and_unknown_users(backend: Backend) -> None:
    user, session = await backend.new_user()
    assert await backend.quotas.of_user(user.username.casefold()) == (user.username, Standing())
    assert (await own(backend, user, keys=Own.UNLIMITED, size=5)).own == OwnLimits(Own.UNLIMITED, 5)
    assert (await own(backend, user, keys=Own.DEFAULT)).own == OwnLimits(Own.DEFAULT, 5)
    assert (await own(backend, user, size=Own.UNLIMITED)).own == OwnLimits(
        Own.DEFAULT, Own.UNLIMITED
    )
    assert await backend.quotas.set_own("no-such-user", 1, 1) is None
    assert await backend.quotas.of_user("no-such-user") is None
    found, standing = await backend.quotas.of_session(session)
    assert found == user and standing.own == OwnLimits(Own.DEFAULT, Own.UNLIMITED)
    await backend.users.delete(session)
    with pytest.raises(SessionExpired):
        await backend.quotas.of_session(session)


async def test_users_at_and_near_their_limits_are_counted(backend: Backend) -> None:
    async def counts() -> NearQuota:
        return await backend.quotas.count_near(DEFAULTS, 90)

    user, session = await backend.new_user()
    start = await counts()
    await own(backend, user, keys=10)
    await backend.kv.write(session, {f"k{i}": i for i in range(8)}, UPSERT)
    assert await counts() == start
    await backend.kv.write(session, {"k8": 8}, UPSERT)
    assert await counts() == dataclasses.replace(start, near=start.near + 1)
    await backend.kv.write(session, {"k9": 9}, UPSERT)
    assert await counts() == NearQuota(start.at + 1, start.near + 1)
    await backend.users.delete(session)  # an account gone is not counted
    assert await counts() == start


async def test_a_refusal_names_an_unlimited_figure_as_none(backend: Backend) -> None:
    user, session = await backend.new_user()
    await own(backend, user, keys=1, size=Own.UNLIMITED)
    await backend.kv.write(session, {"a": "x" * 10_000}, UPSERT)
    with pytest.raises(QuotaExceeded) as refused:
        await backend.kv.write(session, {"b": 1}, UPSERT)
    assert refused.value.limits == Limits(1, None)
    await own(backend, user, keys=Own.UNLIMITED, size=0)
    with pytest.raises(QuotaExceeded) as refused:
        await backend.kv.write(session, {"b": 1}, UPSERT)
    assert refused.value.limits == Limits(None, 0)
