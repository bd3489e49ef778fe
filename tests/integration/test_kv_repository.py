import math
from typing import Any

import msgspec
import pytest
from asynctnt.exceptions import TarantoolDatabaseError

from kv_api.application.errors import StorageRejected
from kv_api.application.ports import Session, WriteOptions
from kv_api.domain.errors import BatchTooLarge
from kv_api.domain.keys import BatchLimits, WriteMode
from kv_api.infrastructure.tarantool.client import TarantoolClient
from tests.integration.conftest import MakeSession, tarantool_kv
from tests.support.writes import PairWrites

encode = msgspec.msgpack.encode
UPSERT, INSERT = WriteOptions(WriteMode.UPSERT), WriteOptions(WriteMode.INSERT)
HUGE = "x" * 3 * 1024 * 1024  # over memtx_max_tuple_size


def unlimited(client: TarantoolClient) -> PairWrites:
    """An adapter whose value size limit lets a value reach the store's own tuple limit."""
    return tarantool_kv(client, BatchLimits(max_value_bytes=8 << 20))


async def count_owned(client: TarantoolClient, session: Session) -> int:
    return int(await client.eval("return box.space.kv_data:count({...})", [session.user_id]))


async def test_write_then_read_round_trip(kv: PairWrites, session: Session) -> None:
    outcome = await kv.write(session, {"a": 1, "b": "two"}, UPSERT)

    assert outcome is not None
    assert (outcome.written, outcome.skipped) == (2, [])
    assert await kv.read(session, ["a", "b", "missing"]) == {"a": 1, "b": "two"}


async def test_upsert_overwrites(kv: PairWrites, session: Session) -> None:
    await kv.write(session, {"a": 1}, UPSERT)
    await kv.write(session, {"a": 2}, UPSERT)
    assert await kv.read(session, ["a"]) == {"a": 2}


async def test_insert_skips_existing_keys_and_keeps_their_values(
    kv: PairWrites, session: Session
) -> None:
    await kv.write(session, {"a": "old", "c": "old"}, UPSERT)

    outcome = await kv.write(session, {"a": "new", "b": "new", "c": "new"}, INSERT)

    assert outcome is not None
    assert (outcome.written, outcome.skipped) == (1, ["a", "c"])
    assert await kv.read(session, ["a", "b", "c"]) == {"a": "old", "b": "new", "c": "old"}


async def test_batch_failing_midway_stores_nothing(
    client: TarantoolClient, session: Session
) -> None:
    # The last tuple is over memtx_max_tuple_size: the store rejects it after the others went in.
    items = {**{f"k{i}": i for i in range(100)}, "huge": HUGE}

    with pytest.raises(StorageRejected):
        await unlimited(client).write(session, items, UPSERT)

    assert await count_owned(client, session) == 0


@pytest.mark.parametrize(
    "pairs",
    [
        [encode("good") + encode("value"), encode(12345) + encode("key is not a string")],
        [encode("good") + encode("value"), encode("a key without a value")],
        [encode("good") + encode("value"), encode("x" * 40)[:-3]],  # a key cut short
    ],
)
async def test_a_pair_that_is_not_a_key_and_a_value_rolls_back_the_batch(
    client: TarantoolClient, session: Session, pairs: list[bytes]
) -> None:
    session_args = [session.user_id, session.token_version, session.token_id, False]
    args = [*session_args, [len(p) for p in pairs], b"".join(pairs), None, None, None, 100]

    with pytest.raises(TarantoolDatabaseError):
        await client.call("kv_write_pairs", args)

    assert await count_owned(client, session) == 0


async def test_sizes_that_do_not_add_up_to_the_pairs_write_nothing(
    client: TarantoolClient, session: Session
) -> None:
    pair = encode("good") + encode("value")
    session_args = [session.user_id, session.token_version, session.token_id, False]
    for sizes in ([len(pair) + 1], [len(pair) - 1], [len(pair), 1]):
        with pytest.raises(TarantoolDatabaseError):
            await client.call("kv_write_pairs", [*session_args, sizes, pair, None, None, None, 100])
    assert await count_owned(client, session) == 0


async def test_failed_batch_leaves_earlier_values_untouched(
    client: TarantoolClient, session: Session
) -> None:
    kv = unlimited(client)
    await kv.write(session, {"a": "kept"}, UPSERT)
    items = {"a": "lost", "b": "lost", "huge": HUGE}

    with pytest.raises(StorageRejected):
        await kv.write(session, items, UPSERT)

    assert await kv.read(session, ["a", "b", "huge"]) == {"a": "kept"}


async def test_big_batch_of_ten_thousand_pairs(
    kv: PairWrites, client: TarantoolClient, session: Session
) -> None:
    items = {f"key-{i:05d}": {"n": i, "tags": ["x", i]} for i in range(10_000)}

    outcome = await kv.write(session, items, UPSERT)

    assert outcome is not None and outcome.written == 10_000
    assert await count_owned(client, session) == 10_000
    assert await kv.read(session, list(items)) == items


VALUES: dict[str, Any] = {
    "null": None,
    "true": True,
    "false": False,
    "zero": 0,
    "int": -42,
    "float": 1.0,
    "neg_zero": -0.0,
    "pi": math.pi,
    "tiny": 5e-324,
    "u64_max": 2**64 - 1,
    "i64_min": -(2**63),
    "string": "plain",
    "empty_string": "",
    "unicode": "ключ 🔑 \u00e9\u0301 \u4e2d\u6587 \u0000 nul",
    "empty_object": {},
    "empty_array": [],
    "nested": {"z": 1, "a": [1, {"y": None, "b": [[], {}]}], "m": {"k": 1.5}},
    "array_of_all": [None, True, 1, 1.0, "s", [], {}],
}


async def test_values_of_every_json_type_round_trip_exactly(
    kv: PairWrites, session: Session
) -> None:
    await kv.write(session, VALUES, UPSERT)

    got = await kv.read(session, list(VALUES))

    assert got == VALUES
    assert got is not None
    assert type(got["float"]) is float and type(got["zero"]) is int
    assert math.copysign(1.0, got["neg_zero"]) == -1.0
    assert type(got["empty_object"]) is dict and type(got["empty_array"]) is list
    assert list(got["nested"]) == ["z", "a", "m"]
    assert list(got["nested"]["a"][1]) == ["y", "b"]


async def test_unicode_keys(kv: PairWrites, session: Session) -> None:
    keys = {"ключ": 1, "🔑": 2, "e\u0301": 3, "\u00e9": 4, "a b/c?d": 5}
    await kv.write(session, keys, UPSERT)
    assert await kv.read(session, list(keys)) == keys


async def test_delete_counts_only_existing_keys(kv: PairWrites, session: Session) -> None:
    await kv.write(session, {"a": 1, "b": 2}, UPSERT)

    assert (await kv.delete(session, ["a", "missing"], {})).deleted == 1
    assert await kv.read(session, ["a", "b"]) == {"b": 2}


async def test_paging_through_keys_with_a_prefix(kv: PairWrites, make_session: MakeSession) -> None:
    owner, other = await make_session(), await make_session()
    wanted = [f"p/{i:04d}" for i in range(2_500)]
    outside = ["o/1", "p", "p.", "q/1", "P/0001"]
    await kv.write(owner, dict.fromkeys(wanted + outside, 0), UPSERT)
    await kv.write(other, dict.fromkeys(["p/0000", "p/5000", "p/x"], 0), UPSERT)

    seen: list[str] = []
    after = None
    while True:
        page = await kv.list_keys(owner, "p/", after, 1000)
        assert page is not None
        seen += page.keys
        if not page.has_more:
            break
        assert len(page.keys) == 1000
        after = page.keys[-1]

    assert seen == wanted


async def test_list_keys_without_prefix_is_ordered_and_private(
    kv: PairWrites, make_session: MakeSession
) -> None:
    owner, other = await make_session(), await make_session()
    await kv.write(owner, {"b": 1, "a": 1, "c": 1}, UPSERT)
    await kv.write(other, {"0": 1, "bb": 1}, UPSERT)

    page = await kv.list_keys(owner, "", None, 2)
    assert page is not None and (page.keys, page.has_more) == (["a", "b"], True)
    page = await kv.list_keys(owner, "", "b", 2)
    assert page is not None and (page.keys, page.has_more) == (["c"], False)


async def test_list_keys_cursor_before_or_past_the_prefix(kv: PairWrites, session: Session) -> None:
    await kv.write(session, dict.fromkeys(["a", "p1", "p2", "z"], 0), UPSERT)

    before = await kv.list_keys(session, "p", "a", 10)
    past = await kv.list_keys(session, "p", "q", 10)

    assert before is not None and before.keys == ["p1", "p2"]
    assert past is not None and (past.keys, past.has_more) == ([], False)


async def test_owners_never_see_each_others_keys(kv: PairWrites, make_session: MakeSession) -> None:
    alice, bob = await make_session(), await make_session()
    await kv.write(alice, {"shared": "alice"}, UPSERT)

    assert await kv.read(bob, ["shared"]) == {}
    assert (await kv.delete(bob, ["shared"], {})).deleted == 0
    outcome = await kv.write(bob, {"shared": "bob"}, INSERT)
    assert outcome is not None and outcome.skipped == []
    assert await kv.read(alice, ["shared"]) == {"shared": "alice"}
    assert await kv.read(bob, ["shared"]) == {"shared": "bob"}


async def test_read_refuses_a_response_over_its_byte_limit(
    client: TarantoolClient, session: Session
) -> None:
    kv = tarantool_kv(client, max_read_bytes=1000)
    await kv.write(session, {"a": "x" * 600, "b": "y" * 600, "small": 1}, UPSERT)

    with pytest.raises(BatchTooLarge, match="more than 1000 bytes"):
        await kv.read(session, ["a", "small", "b"])

    assert await kv.read(session, ["a", "small"]) == {"a": "x" * 600, "small": 1}
