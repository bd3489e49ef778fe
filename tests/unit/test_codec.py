"""The batch encoder: the C extension and the pure-Python fallback give the same bytes and
the same domain errors."""

from typing import Any

import msgpack
import pytest

from domain.errors import DomainError, InvalidKey, InvalidValue
from domain.keys import BatchLimits
from infrastructure import codec
from infrastructure.codec import MsgpackValueEncoder, PackedItems

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


def test_the_extension_is_built() -> None:
    """`make` installs a C compiler and the Python headers: a missing build is a bug."""
    assert codec.native is not None


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
