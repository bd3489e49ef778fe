"""KeyValueRepository: the fake and the Tarantool adapter answer alike (see `backend`)."""

import dataclasses
from typing import Any

import pytest

from kv_api.application.errors import SessionExpired
from kv_api.application.ports import Session, WriteOptions
from kv_api.domain.keys import WriteMode
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
