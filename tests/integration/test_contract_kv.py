"""KeyValueRepository: the fake and the Tarantool adapter answer alike (see `backend`)."""

import asyncio
import dataclasses
import math
import time
from typing import Any

import pytest

from kv_api.application.errors import SessionExpired, VersionConflict
from kv_api.application.ports import Session, WriteOptions
from kv_api.domain.keys import PairMeta, WriteMode
from tests.integration.conftest import Backend

UPSERT, INSERT = WriteOptions(WriteMode.UPSERT), WriteOptions(WriteMode.INSERT)
VALUES: dict[str, Any] = {
    "null": None,
    "float": 1.0,
    "int": -42,
    "u64_max": 2**64 - 1,
    "i64_min": -(2**63),
    "empty_object": {},
    "empty_array": [],
    "nested": {"z": 1, "a": [1, {"y": None, "b": [[], {}]}]},
}


async def test_write_then_read(backend: Backend) -> None:
    _, session = await backend.new_user()
    outcome = await backend.kv.write(session, VALUES, UPSERT)
    assert (outcome.written, outcome.skipped) == (len(VALUES), [])
    found = await backend.kv.read(session, [*VALUES, "missing"])
    assert found == VALUES
    assert type(found["float"]) is float
    assert type(found["empty_object"]) is dict and type(found["empty_array"]) is list
    assert list(found["nested"]) == ["z", "a"]


async def test_upsert_overwrites_and_insert_skips(backend: Backend) -> None:
    _, session = await backend.new_user()
    await backend.kv.write(session, {"a": "old", "c": "old"}, UPSERT)
    await backend.kv.write(session, {"a": "older"}, UPSERT)
    outcome = await backend.kv.write(session, {"c": "new", "b": "new", "a": "new"}, INSERT)
    assert (outcome.written, outcome.skipped) == (1, ["c", "a"])
    assert await backend.kv.read(session, ["a", "b", "c"]) == {"a": "older", "b": "new", "c": "old"}


async def test_delete_counts_keys_that_existed_even_holding_null(backend: Backend) -> None:
    _, session = await backend.new_user()
    await backend.kv.write(session, {"a": 1, "n": None, "b": 2}, UPSERT)
    assert (await backend.kv.delete(session, ["a", "n", "missing"], {})).deleted == 2
    assert await backend.kv.read(session, ["a", "n", "b"]) == {"b": 2}


async def test_list_keys_by_prefix_cursor_and_limit(backend: Backend) -> None:
    _, owner = await backend.new_user()
    _, other = await backend.new_user()
    await backend.kv.write(owner, dict.fromkeys(["p/2", "a", "p/1", "p/3", "q", "p"], 0), UPSERT)
    await backend.kv.write(other, dict.fromkeys(["p/0", "p/9"], 0), UPSERT)

    first = await backend.kv.list_keys(owner, "p/", None, 2)
    assert (first.keys, first.has_more) == (["p/1", "p/2"], True)
    rest = await backend.kv.list_keys(owner, "p/", "p/2", 2)
    assert (rest.keys, rest.has_more) == (["p/3"], False)
    everything = await backend.kv.list_keys(owner, "", None, 10)
    assert (everything.keys, everything.has_more) == (["a", "p", "p/1", "p/2", "p/3", "q"], False)
    past = await backend.kv.list_keys(owner, "p/", "p/9", 10)
    assert (past.keys, past.has_more) == ([], False)


async def test_owners_never_see_each_others_keys(backend: Backend) -> None:
    _, alice = await backend.new_user()
    _, bob = await backend.new_user()
    await backend.kv.write(alice, {"shared": "alice"}, UPSERT)
    assert await backend.kv.read(bob, ["shared"]) == {}
    assert (await backend.kv.delete(bob, ["shared"], {})).deleted == 0
    assert (await backend.kv.write(bob, {"shared": "bob"}, INSERT)).skipped == []
    assert await backend.kv.read(alice, ["shared"]) == {"shared": "alice"}


async def _expired_sessions(backend: Backend) -> tuple[Session, list[Session]]:
    _, session = await backend.new_user()
    _, revoked = await backend.new_user()
    await backend.kv.write(session, {"a": 1}, UPSERT)
    await backend.kv.write(revoked, {"a": 1}, UPSERT)
    await backend.revocations.revoke(revoked)
    return session, [
        dataclasses.replace(session, user_id=session.user_id + 10_000_000),
        dataclasses.replace(session, token_version=session.token_version + 1),
        revoked,
    ]


@pytest.mark.parametrize("which", [0, 1, 2], ids=["unknown user", "old version", "revoked"])
async def test_an_expired_session_raises_and_changes_nothing(backend: Backend, which: int) -> None:
    session, expired = await _expired_sessions(backend)
    bad = expired[which]
    with pytest.raises(SessionExpired):
        await backend.kv.write(bad, {"a": 2, "b": 2}, UPSERT)
    with pytest.raises(SessionExpired):
        await backend.kv.read(bad, ["a"])
    with pytest.raises(SessionExpired):
        await backend.kv.delete(bad, ["a"], {})
    with pytest.raises(SessionExpired):
        await backend.kv.list_keys(bad, "", None, 10)
    assert await backend.kv.read(session, ["a", "b"]) == {"a": 1}


# Versions, expiry and conditions: the fake and the Lua functions of migration 007 alike.
MAX_VERSION = 2**63 - 1


def conditional(if_version: dict[str, int], **options: Any) -> WriteOptions:
    return WriteOptions(WriteMode.UPSERT, if_version=if_version, **options)


async def versions(backend: Backend, session: Session, keys: list[str]) -> dict[str, int]:
    _, meta = await backend.kv.read_with_meta(session, keys)
    return {key: pair.version for key, pair in meta.items()}


async def wait_until_expired(backend: Backend, session: Session, keys: list[str]) -> None:
    """Sleeps until the latest expires_at among `keys` is past on the store's clock (the same
    host clock here): ttl=1 is at most two seconds away."""
    _, meta = await backend.kv.read_with_meta(session, keys)
    latest = max(pair.expires_at or 0 for pair in meta.values())
    assert latest - time.time() <= 2.0
    await asyncio.sleep(max(0.0, latest - time.time()) + 0.05)


async def test_versions_start_at_1_and_grow_by_one_per_overwrite(backend: Backend) -> None:
    _, session = await backend.new_user()
    await backend.kv.write(session, {"a": 1}, UPSERT)
    assert await versions(backend, session, ["a"]) == {"a": 1}
    await backend.kv.write(session, {"a": 2, "b": 1}, UPSERT)
    await backend.kv.write(session, {"a": 3}, UPSERT)
    assert await versions(backend, session, ["a", "b", "missing"]) == {"a": 3, "b": 1}


async def test_a_deleted_key_starts_again_at_1(backend: Backend) -> None:
    _, session = await backend.new_user()
    await backend.kv.write(session, {"a": 1}, UPSERT)
    await backend.kv.write(session, {"a": 2}, UPSERT)
    await backend.kv.delete(session, ["a"], {})
    await backend.kv.write(session, {"a": 3}, UPSERT)
    assert await versions(backend, session, ["a"]) == {"a": 1}


async def test_read_with_meta_answers_values_and_meta_of_found_pairs(backend: Backend) -> None:
    _, session = await backend.new_user()
    before = time.time()
    await backend.kv.write(session, {"a": {"x": [1]}, "b": None}, WriteOptions(ttls={"a": 100}))
    after = time.time()
    found, meta = await backend.kv.read_with_meta(session, ["a", "b", "missing"])
    assert found == {"a": {"x": [1]}, "b": None}
    assert set(meta) == {"a", "b"}
    assert meta["b"] == PairMeta(1, None)
    expires_at = meta["a"].expires_at
    assert isinstance(expires_at, int)
    assert math.ceil(before + 100) <= expires_at <= math.ceil(after + 100)


async def test_ttls_override_ttl_and_a_write_without_ttl_clears_the_expiry(
    backend: Backend,
) -> None:
    _, session = await backend.new_user()
    options = WriteOptions(ttl=1000, ttls={"b": 100, "not-written": 5})
    await backend.kv.write(session, {"a": 1, "b": 1, "c": 1}, options)
    _, meta = await backend.kv.read_with_meta(session, ["a", "b", "c", "not-written"])
    assert set(meta) == {"a", "b", "c"}
    a, b = meta["a"].expires_at, meta["b"].expires_at
    assert a is not None and b is not None and a - b in (900, 899, 901)
    await backend.kv.write(session, {"a": 2}, UPSERT)
    _, meta = await backend.kv.read_with_meta(session, ["a", "c"])
    assert meta["a"] == PairMeta(2, None)
    assert meta["c"].expires_at is not None


async def test_a_failed_condition_changes_nothing_and_names_every_key(backend: Backend) -> None:
    _, session = await backend.new_user()
    await backend.kv.write(session, {"a": 1, "b": 1, "c": 1}, UPSERT)
    revision = (await backend.kv.write(session, {"a": 2}, UPSERT)).revision
    expected = {"a": 1, "b": 1, "gone": 3, "c": 5}
    with pytest.raises(VersionConflict) as caught:
        await backend.kv.write(session, {"a": 9, "b": 9, "new": 9}, conditional(expected))
    assert caught.value.conflicts == {"a": (1, 2), "gone": (3, 0), "c": (5, 1)}
    assert await backend.kv.read(session, ["a", "b", "c", "new"]) == {"a": 2, "b": 1, "c": 1}
    assert await versions(backend, session, ["a", "b", "c"]) == {"a": 2, "b": 1, "c": 1}
    assert (await backend.kv.delete(session, ["missing"], {})).revision == revision


async def test_a_failed_delete_condition_deletes_nothing(backend: Backend) -> None:
    _, session = await backend.new_user()
    revision = (await backend.kv.write(session, {"a": 1, "b": 1}, UPSERT)).revision
    with pytest.raises(VersionConflict) as caught:
        await backend.kv.delete(session, ["a", "b"], {"a": 1, "b": 0, "c": 1})
    assert caught.value.conflicts == {"b": (0, 1), "c": (1, 0)}
    assert await backend.kv.read(session, ["a", "b"]) == {"a": 1, "b": 1}
    outcome = await backend.kv.delete(session, ["a", "b"], {"a": 1, "b": 1, "c": 0})
    assert (outcome.deleted, outcome.revision) == (2, revision + 1)


async def test_version_0_is_create_only(backend: Backend) -> None:
    _, session = await backend.new_user()
    assert (await backend.kv.write(session, {"a": 1}, conditional({"a": 0}))).written == 1
    with pytest.raises(VersionConflict) as caught:
        await backend.kv.write(session, {"a": 2}, conditional({"a": 0}))
    assert caught.value.conflicts == {"a": (0, 1)}
    assert await backend.kv.read(session, ["a"]) == {"a": 1}


async def test_the_largest_versions_travel_exactly(backend: Backend) -> None:
    _, session = await backend.new_user()
    await backend.kv.write(session, {"a": 1}, UPSERT)
    with pytest.raises(VersionConflict) as caught:
        await backend.kv.write(session, {"a": 2}, conditional({"a": MAX_VERSION, "b": MAX_VERSION}))
    assert caught.value.conflicts == {"a": (MAX_VERSION, 1), "b": (MAX_VERSION, 0)}
    with pytest.raises(VersionConflict):
        await backend.kv.delete(session, ["a"], {"a": MAX_VERSION})
    assert await versions(backend, session, ["a"]) == {"a": 1}


async def test_insert_mode_still_skips_existing_keys_under_conditions(backend: Backend) -> None:
    _, session = await backend.new_user()
    await backend.kv.write(session, {"a": 1}, UPSERT)
    options = WriteOptions(WriteMode.INSERT, if_version={"a": 1, "b": 0})
    outcome = await backend.kv.write(session, {"a": 2, "b": 2}, options)
    assert (outcome.written, outcome.skipped) == (1, ["a"])
    assert await versions(backend, session, ["a", "b"]) == {"a": 1, "b": 1}


async def test_revisions_advance_only_on_a_change_and_per_user(backend: Backend) -> None:
    _, session = await backend.new_user()
    _, other = await backend.new_user()
    first = (await backend.kv.write(session, {"a": 1, "b": 1}, UPSERT)).revision
    assert first >= 1
    assert (await backend.kv.write(session, {"a": 2, "b": 2}, INSERT)).revision == first
    assert (await backend.kv.delete(session, ["missing"], {})).revision == first
    with pytest.raises(VersionConflict):
        await backend.kv.delete(session, ["a"], {"a": 4})
    assert (await backend.kv.write(other, {"a": 1}, UPSERT)).revision == 1
    assert (await backend.kv.write(session, {"a": 3, "b": 3}, UPSERT)).revision == first + 1
    assert (await backend.kv.delete(session, ["a", "b"], {})).revision == first + 2


async def test_an_expired_pair_is_absent_everywhere_at_once(backend: Backend) -> None:
    _, session = await backend.new_user()
    await backend.kv.write(session, {"k/short": 1, "k/again": 1}, WriteOptions(ttl=1))
    await backend.kv.write(session, {"k/again": 2, "k/kept": 3}, WriteOptions(ttls={"k/again": 1}))
    await wait_until_expired(backend, session, ["k/short", "k/again"])

    assert await backend.kv.read(session, ["k/short", "k/again", "k/kept"]) == {"k/kept": 3}
    found, meta = await backend.kv.read_with_meta(session, ["k/short", "k/again", "k/kept"])
    assert (found, set(meta)) == ({"k/kept": 3}, {"k/kept"})
    assert (await backend.kv.list_keys(session, "k/", None, 10)).keys == ["k/kept"]
    with pytest.raises(VersionConflict) as caught:
        await backend.kv.write(session, {"x": 1}, conditional({"k/again": 2}))
    assert caught.value.conflicts == {"k/again": (2, 0)}

    outcome = await backend.kv.write(session, {"k/short": 4}, WriteOptions(WriteMode.INSERT))
    assert (outcome.written, outcome.skipped) == (1, [])
    assert await versions(backend, session, ["k/short"]) == {"k/short": 1}
    # removing a pair that expired but is not purged yet is a change (its expiry is logged),
    # though not counted as deleted
    expired = await backend.kv.delete(session, ["k/again"], {})
    assert (expired.deleted, expired.revision) == (0, outcome.revision + 1)
    live = await backend.kv.delete(session, ["k/again", "k/kept"], {})
    assert (live.deleted, live.revision) == (1, expired.revision + 1)
    gone = await backend.kv.delete(session, ["k/again", "k/kept"], {})
    assert (gone.deleted, gone.revision) == (0, live.revision)


async def purge_all(backend: Backend) -> int:
    """Purge steps until one says nothing more is due; the pairs they removed."""
    expired = 0
    while True:
        step = await backend.kv.purge_expired(1000)
        expired += step.expired
        if not step.more:
            return expired


async def test_a_rewrite_moves_a_pairs_expiry_later_sooner_or_away(backend: Backend) -> None:
    user, session = await backend.new_user()
    await backend.kv.write(session, {"later": 1, "away": 1}, WriteOptions(ttl=1))
    await backend.kv.write(session, {"sooner": 1}, WriteOptions(ttl=3600))
    _, first = await backend.kv.read_with_meta(session, ["later"])
    await backend.kv.write(session, {"sooner": 2}, WriteOptions(ttl=1))
    await backend.kv.write(session, {"later": 2}, WriteOptions(ttl=2))
    await backend.kv.write(session, {"away": 2}, UPSERT)
    _, meta = await backend.kv.read_with_meta(session, ["later", "sooner", "away"])
    assert meta["later"].expires_at > first["later"].expires_at
    assert meta["away"].expires_at is None

    # past the first expiry of "later" and the new one of "sooner", before the new one of
    # "later": only "sooner" goes
    await wait_until_expired(backend, session, ["sooner"])
    assert time.time() > first["later"].expires_at
    await purge_all(backend)
    assert await backend.stored_keys(user.id) == {"later", "away"}
    assert await backend.kv.read(session, ["later", "away"]) == {"later": 2, "away": 2}

    await wait_until_expired(backend, session, ["later"])
    await purge_all(backend)
    assert await backend.stored_keys(user.id) == {"away"}


async def test_purge_removes_expired_pairs_in_bounded_steps(backend: Backend) -> None:
    user, session = await backend.new_user()
    await backend.kv.write(session, {"p1": 1, "p2": 2, "p3": 3}, WriteOptions(ttl=1))
    revision = (await backend.kv.write(session, {"kept": 1}, UPSERT)).revision
    await wait_until_expired(backend, session, ["p1", "p2", "p3"])
    assert await backend.stored_keys(user.id) == {"p1", "p2", "p3", "kept"}

    first = await backend.kv.purge_expired(1)
    assert (first.expired, first.more) == (1, True)
    purged = 1 + await purge_all(backend)
    assert purged >= 3  # the shared Tarantool may hold other tests' expired pairs too
    assert await backend.stored_keys(user.id) == {"kept"}
    last = await backend.kv.purge_expired(1000)
    assert (last.expired, last.more) == (0, False)
    # each purge step that removed some of a user's pairs is a change of their keyspace
    later = (await backend.kv.write(session, {"kept": 2}, UPSERT)).revision
    assert revision + 2 <= later <= revision + 3
