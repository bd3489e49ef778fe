"""The batch encoder: the C extension and the pure-Python fallback give the same bytes and
the same domain errors."""

from typing import Any

import msgpack
import orjson
import pytest

from kv_api.application.ports import PackedItems
from kv_api.domain.errors import DomainError, InvalidKey, InvalidValue
from kv_api.domain.keys import BatchLimits
from kv_api.infrastructure import codec
from kv_api.infrastructure.codec import MsgpackValueEncoder, WriteBodyDecoder

LIMITS = BatchLimits(max_key_bytes=8, max_value_bytes=32, max_depth=3)
_pack = msgpack.Packer(autoreset=True, use_bin_type=True).pack

GOOD: list[dict[str, Any]] = [
    {"k": 1},
    {"a": None, "b": True, "c": -(2**63), "d": 2**64 - 1, "e": 1.0, "f": "é"},
    {"n": [[{"x": 1}]], "é" * 4: "v"},
    {"z": {"b": 1, "a": 2}},
]
BAD: list[tuple[dict[str, Any], type[DomainError], str]] = [
    ({"ok": 1, "": 2}, InvalidKey, ""),
    ({"ok": 1, "k" * 9: 2}, InvalidKey, "k" * 9),
    ({"é" * 5: 1}, InvalidKey, "é" * 5),
    ({"\ud800": 1}, InvalidKey, "\ud800"),
    ({"ok": 1, "deep": [[[[1]]]]}, InvalidValue, "deep"),
    ({"big": 2**64}, InvalidValue, "big"),
    ({"small": -(2**63) - 1}, InvalidValue, "small"),
    ({"s": ["\udfff"]}, InvalidValue, "s"),
    ({"long": "x" * 40}, InvalidValue, "long"),
    ({"first": "x" * 40, "": 1}, InvalidKey, ""),  # keys are checked before values
]


def test_the_extensions_are_built() -> None:
    """`make` installs a C compiler and the Python headers: a missing build is a bug."""
    assert codec.native is not None
    assert codec.jsonbatch is not None


@pytest.mark.parametrize("use_native", [True, False], ids=["native", "python"])
@pytest.mark.parametrize("items", GOOD, ids=repr)
def test_values_are_packed_like_msgpack(use_native: bool, items: dict[str, Any]) -> None:
    encoded = MsgpackValueEncoder(use_native).encode_items(items, LIMITS)
    assert list(encoded) == [(key, _pack(value)) for key, value in items.items()]


@pytest.mark.parametrize("use_native", [True, False], ids=["native", "python"])
@pytest.mark.parametrize(("items", "error", "key"), BAD, ids=repr)
def test_both_paths_raise_the_same_error(
    use_native: bool, items: dict[str, Any], error: type[DomainError], key: str
) -> None:
    with pytest.raises(error) as raised:
        MsgpackValueEncoder(use_native).encode_items(items, LIMITS)
    assert raised.value.key == key  # type: ignore[attr-defined]
    with pytest.raises(error) as again:
        MsgpackValueEncoder(not use_native).encode_items(items, LIMITS)
    assert str(again.value) == str(raised.value)


def test_packed_items_read_as_pairs() -> None:
    packed = PackedItems(["a", "b", "c"], [b"1", b"2", b"3"])
    assert len(packed) == 3
    assert packed[1] == ("b", b"2")
    assert packed[-1] == ("c", b"3")
    assert list(packed[1:]) == [("b", b"2"), ("c", b"3")]
    assert list(packed) == [("a", b"1"), ("b", b"2"), ("c", b"3")]
    assert packed == [("a", b"1"), ("b", b"2"), ("c", b"3")]
    with pytest.raises(ValueError):
        PackedItems(["a"], [])


def test_a_mapping_that_is_not_a_dict_takes_the_python_path() -> None:
    class Items(dict[str, Any]):
        pass

    encoded = MsgpackValueEncoder().encode_items(Items(k=[1]), LIMITS)
    assert list(encoded) == [("k", _pack([1]))]


def test_write_bodies_decode_to_what_the_encoder_makes() -> None:
    items = {"a": {"b": [1, 2.5, None]}, "é": "x"}
    decoded = WriteBodyDecoder(LIMITS)(orjson.dumps({"data": items, "mode": "insert"}))
    assert decoded is not None
    packed, mode = decoded
    assert mode == "insert"
    assert packed.checked_with == LIMITS
    assert packed == MsgpackValueEncoder().encode_items(items, LIMITS)


@pytest.mark.parametrize(
    "body",
    [b'{"data": {"k": 1, "k": 2}}', b'{"data": {}}', b'{"data": {"k": 1}', b"[]", b""],
    ids=repr,
)
def test_bodies_the_decoder_leaves_to_the_slow_path(body: bytes) -> None:
    assert WriteBodyDecoder(LIMITS)(body) is None


def test_the_decoder_can_be_switched_off() -> None:
    assert WriteBodyDecoder(LIMITS, use_native=False)(b'{"data": {"k": 1}}') is None


def test_items_packed_with_the_same_limits_are_taken_as_they_are() -> None:
    packed = PackedItems(["k"], [_pack("x" * 20)], LIMITS)
    assert MsgpackValueEncoder().encode_items(packed, LIMITS) is packed


@pytest.mark.parametrize("use_native", [True, False], ids=["native", "python"])
def test_items_packed_with_other_limits_are_checked_again(use_native: bool) -> None:
    encoder = MsgpackValueEncoder(use_native)
    loose = PackedItems(["k"], [_pack("x" * 40)], BatchLimits())
    with pytest.raises(InvalidValue):
        encoder.encode_items(loose, LIMITS)
    fine = PackedItems(["k"], [_pack([1, {"z": 2}])])
    assert list(encoder.encode_items(fine, LIMITS)) == [("k", _pack([1, {"z": 2}]))]
