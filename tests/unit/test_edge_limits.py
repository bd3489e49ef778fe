import orjson
import pytest

from kv_api.application.errors import RateLimited
from kv_api.presentation.http.bounded_json import read_answer
from kv_api.presentation.http.problems import BadRequest
from kv_api.presentation.http.rate_limit import AddressRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_registrations_are_counted_per_address_in_a_fixed_window() -> None:
    clock = Clock()
    limiter = AddressRateLimiter(2, 60, clock)
    limiter.check("a")
    limiter.check("a")
    limiter.check("b")
    with pytest.raises(RateLimited) as refused:
        limiter.check("a")
    assert refused.value.retry_after == 60
    clock.now += 60
    limiter.check("a")


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
