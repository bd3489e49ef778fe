import json
from datetime import timedelta

import msgspec
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kv_api.application.errors import RateLimited
from kv_api.application.users.registration_limit import RegistrationLimit
from kv_api.presentation.http.bounded_json import JSON_PER_MSGPACK_BYTE, _pair_by_pair, read_answer
from kv_api.presentation.http.problems import BadRequest
from tests.unit.fakes import FakeAttemptCounter, FakeClock


async def test_registrations_are_counted_per_address_in_a_fixed_window() -> None:
    clock = FakeClock()
    limiter = RegistrationLimit(FakeAttemptCounter(max_failures=2, window=60), clock)
    await limiter.check("a")
    await limiter.check("a")
    await limiter.check("b")
    with pytest.raises(RateLimited) as refused:
        await limiter.check("a")
    assert refused.value.retry_after == 60
    assert "registrations" in str(refused.value)
    clock.current += timedelta(seconds=60)
    await limiter.check("a")


def test_the_read_answer_is_the_json_of_the_whole_answer() -> None:
    found = {"a": "\x01", "é": [1, {"b": None}], "n": 2**63}
    body = read_answer(found, ["zz"], 10_000).body
    assert isinstance(body, bytes)
    assert body == orjson.dumps({"data": found, "not_found": ["zz"]})


def test_the_read_answer_is_refused_past_the_bound() -> None:
    with pytest.raises(BadRequest) as refused:
        read_answer({"a": "\x01" * 100}, [], 500)
    assert refused.value.code == "response_too_large"
    with pytest.raises(BadRequest):
        read_answer({}, ["k" * 600], 500)


# Values as storage hands them back: anything a JSON document can hold.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(), inner, max_size=6),
    max_leaves=30,
)


@given(json_values)
def test_json_is_at_most_six_bytes_per_msgpack_byte(value: object) -> None:
    assert len(orjson.dumps(value)) <= JSON_PER_MSGPACK_BYTE * len(msgspec.msgpack.encode(value))


def test_the_worst_cases_of_the_six_to_one_bound() -> None:
    for value in ([False] * 50, "\x01" * 50, {"": False}, [[]] * 20, [-32] * 20):
        assert len(orjson.dumps(value)) <= JSON_PER_MSGPACK_BYTE * len(
            msgspec.msgpack.encode(value)
        )
    assert len(orjson.dumps([False] * 50)) > 5 * len(msgspec.msgpack.encode([False] * 50))


@pytest.mark.parametrize(
    "found",
    [
        {"a": "\x01" * 40, "b": [False, None, {"c": 1.5}], "é": "ü"},
        {"big": 2**70, "s": "x"},  # past 64 bits: only the standard encoder takes it
        {"lone": "\ud800", "s": "x"},  # a lone surrogate, escaped
    ],
)
def test_every_answer_is_the_same_whole_or_pair_by_pair(found: dict[str, object]) -> None:
    for limit in (10_000, 200):  # whole when small enough, else pair by pair
        try:
            body = read_answer(found, ["zz"], limit).body
        except BadRequest:
            assert limit == 200
            continue
        assert isinstance(body, bytes)
        assert json.loads(body) == {"data": found, "not_found": ["zz"]}
        assert body == _pair_by_pair(found, ["zz"], 10_000).body


def test_an_answer_just_under_the_bound_is_answered_pair_by_pair() -> None:
    found = {"a": "\x01" * 100}  # 600-odd bytes of JSON from ~100 of MessagePack
    size = len(orjson.dumps({"data": found, "not_found": []}))
    assert read_answer(found, [], size).body == orjson.dumps({"data": found, "not_found": []})
    with pytest.raises(BadRequest):
        read_answer(found, [], size - 1)
