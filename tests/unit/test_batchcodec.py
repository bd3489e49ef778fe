"""The C write-path codec: byte-identical to msgpack-python, and rejecting exactly what the
pure-Python checks reject (the caller then re-runs them for the precise error)."""

import gc
import math
import sys
import tracemalloc
from collections import OrderedDict
from enum import IntEnum
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

codec = pytest.importorskip("kv_api.infrastructure._batchcodec")
encode_values = codec.encode_values
join_tuples = codec.join_tuples
has_long_digit_run = codec.has_long_digit_run


def encode_batch(
    items: Any, head: Any, max_key_bytes: Any, max_value_bytes: Any, *depth: Any
) -> list[bytes] | None:
    """The write path's use of the module: check and pack the values, then make the tuples."""
    values: list[bytes] | None = encode_values(items, max_key_bytes, max_value_bytes, *depth)
    if values is None:
        return None
    tuples: list[bytes] | None = join_tuples(head, list(items), values)
    assert tuples is not None, "join_tuples refused what encode_values made"
    return tuples


_pack = msgpack.Packer(autoreset=True, use_bin_type=True).pack
HEAD = b"\x93" + msgpack.packb(7)
MAX_KEY = 1024
MAX_VALUE = 1024 * 1024
MAX_DEPTH = 64
JSON_SCALARS = (type(None), bool, int, float, str)


# --- the reference: msgpack-python plus the rules, written independently of the C code --------


def nesting_exceeds(value: Any, limit: int) -> bool:
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 1
    while level:
        if depth > limit:
            return True
        level = [
            c
            for n in level
            for c in (n.values() if isinstance(n, dict) else n)
            if isinstance(c, (dict, list))
        ]
        depth += 1
    return False


def only_json_types(value: Any) -> bool:
    """Exactly the types orjson.loads produces, with str dict keys (iterative: deep is fine)."""
    stack = [value]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is list:
            stack.extend(node)
        elif kind is dict:
            if any(type(k) is not str for k in node):
                return False
            stack.extend(node.keys())
            stack.extend(node.values())
        elif kind not in JSON_SCALARS:
            return False
    return True


def reference(
    items: dict[Any, Any],
    head: bytes = HEAD,
    max_key_bytes: int = MAX_KEY,
    max_value_bytes: int = MAX_VALUE,
    max_depth: int = MAX_DEPTH,
) -> list[bytes] | None:
    out = []
    for key, value in items.items():
        if type(key) is not str or not key:
            return None
        try:
            size = len(key.encode("utf-8"))
        except UnicodeEncodeError:
            return None
        if size > max_key_bytes:
            return None
        if not only_json_types(value) or nesting_exceeds(value, max_depth):
            return None
        try:
            packed = _pack(value)
        except (OverflowError, UnicodeEncodeError, ValueError):
            return None
        if len(packed) > max_value_bytes:
            return None
        out.append(head + _pack(key) + packed)
    return out


def encode(
    items: dict[Any, Any],
    head: bytes = HEAD,
    max_key_bytes: int = MAX_KEY,
    max_value_bytes: int = MAX_VALUE,
    max_depth: int = MAX_DEPTH,
) -> list[bytes] | None:
    result: list[bytes] | None = encode_batch(
        items, head, max_key_bytes, max_value_bytes, max_depth
    )
    return result


def accepts(value: Any, *, max_value_bytes: int = MAX_VALUE, max_depth: int = MAX_DEPTH) -> bool:
    """Whether {"k": value} is accepted; when it is, the bytes must be msgpack-python's."""
    result = encode({"k": value}, max_value_bytes=max_value_bytes, max_depth=max_depth)
    if result is not None:
        assert result == [HEAD + _pack("k") + _pack(value)]
    return result is not None


def nested(depth: int, leaf: Any = "leaf", container: str = "list") -> Any:
    """`depth` containers inside each other around `leaf` (lists, dicts, or alternating)."""
    value = leaf
    for level in range(depth):
        use_list = container == "list" or (container == "mixed" and level % 2 == 0)
        value = [value] if use_list else {"k": value}
    return value


# --- byte-identical output ---------------------------------------------------------------------

INT_BOUNDARIES = [
    0, 1, 127, 128, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1, 2**32,
    2**63 - 1, 2**63, 2**64 - 1,
    -1, -31, -32, -33, -127, -128, -129, -32767, -32768, -32769,
    -(2**31) + 1, -(2**31), -(2**31) - 1, -(2**32), -(2**63) + 1, -(2**63),
]  # fmt: skip
FLOATS = [
    0.0, -0.0, 1.0, -1.5, 0.1, 1e308, -1e308, 5e-324, 2.2250738585072014e-308,
    1.7976931348623157e308, math.inf, -math.inf, 3.141592653589793, 1e16, 2.0**63,
]  # fmt: skip
STRING_LENGTHS = [0, 1, 31, 32, 255, 256, 65535, 65536, 70000]
CONTAINER_SIZES = [0, 1, 15, 16, 17, 255, 256, 65535, 65536]


@pytest.mark.parametrize("value", INT_BOUNDARIES, ids=str)
def test_ints_match_msgpack_at_every_boundary(value: int) -> None:
    assert accepts(value)
    assert accepts([value, {"n": value}])


def test_int_encodings_are_the_smallest_msgpack_python_chooses() -> None:
    assert encode({"k": 200}) == [HEAD + b"\xa1k" + b"\xcc\xc8"]
    assert encode({"k": -100}) == [HEAD + b"\xa1k" + b"\xd0\x9c"]
    assert encode({"k": -1}) == [HEAD + b"\xa1k" + b"\xff"]
    assert encode({"k": 2**64 - 1}) == [HEAD + b"\xa1k" + b"\xcf" + b"\xff" * 8]
    assert encode({"k": -(2**63)}) == [HEAD + b"\xa1k" + b"\xd3\x80" + b"\x00" * 7]


@pytest.mark.parametrize("value", FLOATS, ids=repr)
def test_floats_are_float64_like_msgpack(value: float) -> None:
    assert accepts(value)
    assert encode({"k": value}) is not None
    assert encode({"k": value})[0][-9] == 0xCB  # type: ignore[index]


def test_negative_zero_keeps_its_sign() -> None:
    assert encode({"k": -0.0}) == [HEAD + b"\xa1k\xcb\x80" + b"\x00" * 7]


def test_scalars_match_msgpack() -> None:
    for value in (None, True, False):
        assert accepts(value)
    assert encode({"k": [None, False, True]}) == [HEAD + b"\xa1k\x93\xc0\xc2\xc3"]


@pytest.mark.parametrize("length", STRING_LENGTHS)
@pytest.mark.parametrize("char", ["a", "é", "€", "😀"])
def test_strings_match_msgpack_by_utf8_length(length: int, char: str) -> None:
    assert accepts(char * length)
    # the header depends on the length in bytes of UTF-8, not in characters
    width = len(char.encode())
    exact = char * (length // width) + "a" * (length % width)
    assert len(exact.encode()) == length
    assert accepts(exact)


@pytest.mark.parametrize("size", CONTAINER_SIZES)
def test_lists_match_msgpack_at_every_size(size: int) -> None:
    assert accepts(list(range(size)))
    assert accepts([None] * size)


@pytest.mark.parametrize("size", CONTAINER_SIZES)
def test_dicts_match_msgpack_at_every_size(size: int) -> None:
    assert accepts({f"k{i}": i for i in range(size)})


def test_dict_order_is_kept_inside_values_and_across_items() -> None:
    value = {"z": 1, "a": 2, "m": {"y": [], "b": {}}}
    assert accepts(value)
    items = {f"key{i}": i for i in range(50, 0, -1)}
    assert encode(items) == [HEAD + _pack(k) + _pack(v) for k, v in items.items()]


def test_a_realistic_batch_matches_msgpack() -> None:
    items: dict[str, Any] = {}
    for i in range(1000):
        if i % 4 == 3:
            items[f"bench:key:{i:05d}"] = {
                "id": i,
                "name": f"item-{i:05d}",
                "price": i * 1.25,
                "tags": ["bench", "nested", f"t{i % 7}"],
                "meta": {"active": i % 2 == 0, "owner": None, "rank": [i, -i]},
            }
        else:
            items[f"bench:key:{i:05d}"] = f"value-{i:05d}-" + "x" * 88 + "ünï"
    result = encode(items)
    assert result is not None
    assert result == reference(items)
    assert len(result) == 1000


def test_keys_match_msgpack_at_string_boundaries() -> None:
    for length in (1, 31, 32, 255, 256, 1024):
        key = "k" * length
        assert encode({key: 1}) == [HEAD + _pack(key) + b"\x01"]


def test_head_is_copied_verbatim_including_an_empty_one() -> None:
    assert encode({"k": 1}, head=b"") == [b"\xa1k\x01"]
    head = b"\x93\xcd\x30\x39" + bytes(range(256))
    assert encode({"k": 1, "j": 2}, head=head) == [head + b"\xa1k\x01", head + b"\xa1j\x02"]


def test_an_empty_batch_is_an_empty_list() -> None:
    assert encode({}) == []


def test_each_call_returns_a_new_list() -> None:
    items = {"k": 1}
    first, second = encode(items), encode(items)
    assert first == second
    assert first is not second


# --- reject rules ------------------------------------------------------------------------------


class TestKeys:
    def test_empty_key_is_rejected(self) -> None:
        assert encode({"": 1}) is None
        assert encode({"a": 1, "": 1}) is None

    def test_lone_surrogate_key_is_rejected(self) -> None:
        assert encode({"bad\ud800": 1}) is None
        assert encode({"ok": 1, "\udfff": 1}) is None

    def test_key_of_exactly_the_limit_is_accepted_and_one_more_byte_rejected(self) -> None:
        assert encode({"k" * 10: 1}, max_key_bytes=10) is not None
        assert encode({"k" * 11: 1}, max_key_bytes=10) is None

    def test_key_length_counts_bytes_of_utf8(self) -> None:
        assert encode({"é" * 512: 1}, max_key_bytes=1024) is not None
        assert encode({"é" * 512 + "a": 1}, max_key_bytes=1024) is None
        assert encode({"€": 1}, max_key_bytes=3) is not None
        assert encode({"€": 1}, max_key_bytes=2) is None
        assert encode({"😀": 1}, max_key_bytes=4) is not None
        assert encode({"😀": 1}, max_key_bytes=3) is None

    def test_non_str_keys_are_rejected(self) -> None:
        class Key(str):
            pass

        for key in (1, b"k", ("k",), Key("k"), None, 1.5):
            assert encode({key: 1}) is None, key
            assert encode({"ok": 1, key: 1}) is None, key

    def test_key_limit_does_not_count_the_value(self) -> None:
        assert encode({"k": "v" * 100}, max_key_bytes=1) is not None


class TestDepth:
    @pytest.mark.parametrize("container", ["list", "dict", "mixed"])
    @pytest.mark.parametrize("limit", [1, 2, 3, 10, 64])
    def test_exactly_max_depth_is_accepted_and_one_more_rejected(
        self, container: str, limit: int
    ) -> None:
        assert accepts(nested(limit, container=container), max_depth=limit)
        assert not accepts(nested(limit + 1, container=container), max_depth=limit)

    def test_scalars_do_not_count_as_a_level(self) -> None:
        assert accepts("leaf", max_depth=0)
        assert accepts(12, max_depth=0)
        assert not accepts([], max_depth=0)
        assert not accepts({}, max_depth=0)
        assert accepts([1, "a", None, {"k": 2}], max_depth=2)
        assert not accepts([1, "a", None, {"k": []}], max_depth=2)

    def test_empty_containers_count(self) -> None:
        assert accepts(nested(2, leaf=[]), max_depth=3)
        assert not accepts(nested(3, leaf={}), max_depth=3)

    def test_one_deep_branch_among_shallow_siblings_is_rejected(self) -> None:
        value = {"a": [1, 2], "b": {"c": 3}, "deep": nested(5)}
        assert accepts(value, max_depth=6)
        assert not accepts(value, max_depth=5)

    def test_one_deep_item_rejects_the_whole_batch(self) -> None:
        items = {"a": 1, "b": nested(4), "c": 2}
        assert encode(items, max_depth=4) is not None
        assert encode(items, max_depth=3) is None

    def test_a_100000_deep_list_is_rejected_without_crashing(self) -> None:
        value: Any = []
        for _ in range(100_000):
            value = [value]
        assert encode({"k": value}) is None
        assert encode({"k": value}, max_depth=1024) is None
        # even a limit far past msgpack-python's own must not recurse without bound
        assert encode({"k": value}, max_depth=10**9) is None
        deep_dict: Any = {}
        for _ in range(100_000):
            deep_dict = {"k": deep_dict}
        assert encode({"k": deep_dict}, max_depth=10**9) is None

    def test_depth_past_msgpack_pythons_own_limit_is_rejected_like_it(self) -> None:
        # msgpack-python refuses any object more than 1024 containers down; callers pass
        # max_depth <= 1024, so this only matters for a larger limit, but then it agrees.
        for depth, leaf in ((1024, 1), (1025, []), (1025, 1), (1026, [])):
            value = nested(depth, leaf=leaf)
            expected = reference({"k": value}, max_depth=2000)
            assert encode({"k": value}, max_depth=2000) == expected
        assert accepts(nested(1024, leaf=1), max_depth=2000)
        assert not accepts(nested(1025, leaf=1), max_depth=2000)

    def test_limit_of_1024_accepts_1024_levels(self) -> None:
        assert accepts(nested(1024), max_depth=1024)
        assert not accepts(nested(1025), max_depth=1024)


class TestIntegers:
    @pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 2**100, -(2**100), 10**30])
    def test_outside_64_bits_is_rejected(self, value: int) -> None:
        assert not accepts(value)
        assert not accepts([1, value])
        assert not accepts({"a": {"b": value}})

    def test_the_extremes_are_accepted(self) -> None:
        assert accepts(2**64 - 1)
        assert accepts(-(2**63))


class TestStrings:
    def test_lone_surrogates_in_values_are_rejected_anywhere(self) -> None:
        assert not accepts("\ud800")
        assert not accepts(["ok", "x\udc00y"])
        assert not accepts({"ok": {"k": "\udbff"}})
        assert not accepts({"\ud800": 1})
        assert not accepts({"ok": [{"\udfff": None}]})

    def test_valid_astral_characters_are_fine(self) -> None:
        assert accepts("😀 \U0010ffff \u0000")
        assert accepts({"😀": "\u2028"})


class TestValueSize:
    @pytest.mark.parametrize(
        "value",
        [
            *("x" * length for length in STRING_LENGTHS),
            "é" * 300,
            ["x" * 65535],
            {"x" * 255: "y" * 256},
            list(range(300)),
            {f"k{i}": [i, "v"] for i in range(40)},
            2**40,
            -1.5,
            None,
        ],
        ids=lambda value: repr(value)[:20],
    )
    def test_exactly_the_limit_is_accepted_and_one_byte_more_rejected(self, value: Any) -> None:
        size = len(_pack(value))
        assert accepts(value, max_value_bytes=size)
        assert not accepts(value, max_value_bytes=size - 1)

    def test_the_limit_covers_the_value_only_not_head_or_key(self) -> None:
        items = {"k" * 500: "v"}
        assert encode(items, head=b"h" * 1000, max_value_bytes=2) is not None
        assert encode(items, head=b"h" * 1000, max_value_bytes=1) is None

    def test_each_value_is_measured_on_its_own(self) -> None:
        items = {f"k{i}": "x" * 98 for i in range(100)}  # 100 bytes each
        assert encode(items, max_value_bytes=100) is not None
        items["k50"] = "x" * 99
        assert encode(items, max_value_bytes=100) is None

    def test_a_huge_value_is_rejected(self) -> None:
        assert not accepts("x" * 10_000_000, max_value_bytes=1000)
        assert not accepts(["x" * 1000] * 10_000, max_value_bytes=1000)

    def test_zero_and_negative_limits_reject_everything(self) -> None:
        assert not accepts(None, max_value_bytes=0)
        assert not accepts(None, max_value_bytes=-5)
        assert accepts(None, max_value_bytes=1)


class Str(str):
    pass


class Int(int):
    pass


class Float(float):
    pass


class List(list):  # type: ignore[type-arg]
    pass


class Dict(dict):  # type: ignore[type-arg]
    pass


class Colour(IntEnum):
    RED = 1


class TestOtherTypes:
    @pytest.mark.parametrize(
        "value",
        [
            (1, 2),
            (),
            b"bytes",
            bytearray(b"x"),
            memoryview(b"x"),
            {1, 2},
            frozenset(),
            object(),
            1j,
            Str("s"),
            Int(1),
            Float(1.5),
            List([1]),
            Dict(a=1),
            OrderedDict(a=1),
            Colour.RED,
            range(3),
            Path("x"),
        ],
        ids=repr,
    )
    def test_anything_orjson_does_not_produce_is_rejected(self, value: Any) -> None:
        assert not accepts(value)
        assert not accepts([1, value])
        assert not accepts({"a": value})
        assert reference({"k": value}) is None

    @pytest.mark.parametrize("key", [1, 1.5, None, True, b"k", ("k",), Str("k")], ids=repr)
    def test_non_str_keys_inside_values_are_rejected(self, key: Any) -> None:
        assert not accepts({key: 1})
        assert not accepts([{"ok": 1, key: 1}])


class TestArguments:
    def test_items_must_be_exactly_a_dict(self) -> None:
        for items in ([("k", 1)], None, OrderedDict(k=1), Dict(k=1), "k"):
            with pytest.raises(TypeError):
                encode_batch(items, HEAD, MAX_KEY, MAX_VALUE, MAX_DEPTH)

    def test_head_must_be_bytes(self) -> None:
        for head in (bytearray(HEAD), memoryview(HEAD), "head", None):
            with pytest.raises(TypeError):
                encode_batch({"k": 1}, head, MAX_KEY, MAX_VALUE, MAX_DEPTH)

    def test_limits_must_be_ints(self) -> None:
        with pytest.raises(TypeError):
            encode_batch({"k": 1}, HEAD, "1024", MAX_VALUE, MAX_DEPTH)
        with pytest.raises(TypeError):
            encode_batch({"k": 1}, HEAD, MAX_KEY, MAX_VALUE, 1.5)
        with pytest.raises(TypeError):
            encode_batch({"k": 1}, HEAD, MAX_KEY, MAX_VALUE)

    def test_limits_past_ssize_t_overflow(self) -> None:
        with pytest.raises(OverflowError):
            encode_batch({"k": 1}, HEAD, 2**70, MAX_VALUE, MAX_DEPTH)


class TestPieces:
    def test_encode_values_gives_the_packed_values_in_order(self) -> None:
        items = {"a": [1, {"b": None}], "é": 2.5}
        values = encode_values(items, MAX_KEY, MAX_VALUE, MAX_DEPTH)
        assert values == [_pack(value) for value in items.values()]
        assert all(type(value) is bytes for value in values)

    @pytest.mark.parametrize(
        ("keys", "values"),
        [
            (["ok", 1], [b"\xc0", b"\xc0"]),
            (["ok", "k"], [b"\xc0", "v"]),
            (["ok", "k"], [b"\xc0", bytearray(b"\xc0")]),
            (["ok", "\ud800"], [b"\xc0", b"\xc0"]),
            (["ok", "k"], [b"\xc0"]),
            (["ok"], [b"\xc0", b"\xc0"]),
        ],
        ids=repr,
    )
    def test_join_tuples_refuses_anything_but_str_keys_and_bytes_values(
        self, keys: list[Any], values: list[Any]
    ) -> None:
        assert join_tuples(HEAD, keys, values) is None

    def test_join_tuples_takes_only_lists(self) -> None:
        with pytest.raises(TypeError):
            join_tuples(HEAD, ("k",), [b"\xc0"])
        with pytest.raises(TypeError):
            join_tuples(HEAD, ["k"], (b"\xc0",))

    def test_join_tuples_at_key_length_boundaries(self) -> None:
        for length in (0, 31, 32, 255, 256, 65535, 65536):
            key = "k" * length
            assert join_tuples(HEAD, [key], [b"\xc0"]) == [HEAD + _pack(key) + b"\xc0"]


# --- property test against the reference ------------------------------------------------------

INT_EDGES = [b + d for b in [*INT_BOUNDARIES, 2**64, -(2**63) - 1] for d in (-1, 0, 1)]
ints = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.sampled_from(INT_EDGES),
    st.integers(),
)
floats = st.floats(allow_nan=False)
plain_text = st.text(max_size=40)
# now and then a lone surrogate, which only the UTF-8 encoder refuses
any_text = st.one_of(
    plain_text,
    plain_text,
    plain_text,
    st.text(st.characters(exclude_categories=()), max_size=4),
    st.sampled_from(["x" * 31, "x" * 32, "é" * 16, "€" * 11, "x" * 255, "x" * 256]),
)
scalars = st.one_of(st.none(), st.booleans(), ints, floats, any_text)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=18),
        st.dictionaries(any_text, children, max_size=18),
    ),
    max_leaves=40,
)
strangers = st.sampled_from(
    [(1,), b"b", Str("s"), Int(3), Float(0.5), List(), Dict(), {1: "int key"}, {None: 1}]
)
wild_values = st.recursive(
    st.one_of(scalars, strangers),
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(any_text, children, max_size=6),
    ),
    max_leaves=30,
)
keys = st.one_of(plain_text, any_text, st.sampled_from(["", "é" * 6, "k" * 12]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.dictionaries(keys, json_values, max_size=5))
def test_json_batches_match_the_reference_with_default_limits(items: dict[str, Any]) -> None:
    assert encode(items) == reference(items)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.dictionaries(keys, json_values, max_size=4),
    head=st.binary(max_size=12),
    max_key_bytes=st.integers(min_value=-1, max_value=14),
    max_value_bytes=st.integers(min_value=-1, max_value=400),
    max_depth=st.integers(min_value=-1, max_value=5),
)
@example(items={"k": [[1]]}, head=b"", max_key_bytes=1, max_value_bytes=3, max_depth=2)
@example(items={"k": [[1]]}, head=b"", max_key_bytes=1, max_value_bytes=2, max_depth=2)
@example(items={"k": [[1]]}, head=b"", max_key_bytes=1, max_value_bytes=3, max_depth=1)
def test_json_batches_match_the_reference_with_tight_limits(
    items: dict[str, Any],
    head: bytes,
    max_key_bytes: int,
    max_value_bytes: int,
    max_depth: int,
) -> None:
    expected = reference(items, head, max_key_bytes, max_value_bytes, max_depth)
    assert encode(items, head, max_key_bytes, max_value_bytes, max_depth) == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.dictionaries(keys, wild_values, max_size=4))
def test_values_of_any_type_match_the_reference(items: dict[str, Any]) -> None:
    assert encode(items) == reference(items)


# --- no leaks ----------------------------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def test_no_reference_or_memory_leaks_on_accept_or_reject() -> None:
    shared: Any = {"text": "s" * 300, "list": [1, 2.5, None, True, "ünï"], "n": 2**63}
    key = "shared-key-é"
    surrogate = "\ud800"
    batches: list[tuple[dict[Any, Any], bool]] = [
        ({key: shared, "other": [shared, shared]}, True),
        ({f"k{i}": shared for i in range(200)}, True),
        ({key: shared, "big": 2**64}, False),  # rejected after shared was encoded
        ({key: [shared, {"deep": nested(70)}]}, False),
        ({key: shared, "bad": [shared, surrogate]}, False),
        ({key: [shared, (1, 2)]}, False),
        ({key: "x" * 2000}, False),  # over max_value_bytes below
        ({key: shared, "": 1}, False),
    ]

    def run(times: int) -> None:
        for _ in range(times):
            for items, accepted in batches:
                result = encode_batch(items, HEAD, MAX_KEY, 1500, MAX_DEPTH)
                assert (result is not None) is accepted

    run(50)  # warm up caches (the UTF-8 of non-ASCII strings is cached on first use)
    gc.collect()
    counts = [sys.getrefcount(obj) for obj in (shared, key, surrogate, shared["list"])]
    rss_before = _rss_bytes()
    tracemalloc.start()
    try:
        run(100)
        gc.collect()
        before, _ = tracemalloc.get_traced_memory()
        run(2000)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [sys.getrefcount(obj) for obj in (shared, key, surrogate, shared["list"])] == counts
    # 2000 rounds leaking even one small object per call would show as hundreds of KB
    assert after - before < 64 * 1024
    assert _rss_bytes() - rss_before < 16 * 1024 * 1024


def test_results_hold_the_only_references_to_their_bytes() -> None:
    result = encode({"a": 1, "b": [2]})
    assert result is not None
    assert sys.getrefcount(result) == 2  # the local and getrefcount's argument
    for index in range(len(result)):
        count = sys.getrefcount(result[index])  # not inside assert: pytest would keep one
        assert count == 2  # the list and getrefcount's argument


# --- has_long_digit_run ------------------------------------------------------------------------

_DIGIT_MASK = bytes(48 if 48 <= b <= 57 else 45 if b == 45 else 32 for b in range(256))


def may_hold_wide_integers(body: bytes) -> bool:
    masked = body.translate(_DIGIT_MASK)
    return b"0" * 20 in masked or b"-" + b"0" * 19 in masked


DIGIT_EDGES = [
    b"",
    b"0",
    b"1" * 18,
    b"1" * 19,
    b"1" * 20,
    b"1" * 21,
    b"-" + b"1" * 18,
    b"-" + b"1" * 19,
    b"-" + b"1" * 20,
    b"--" + b"1" * 19,
    b"+" + b"1" * 19,
    b"a" + b"1" * 19,
    b"1" * 19 + b"a",
    b"a" + b"1" * 20 + b"a",
    b"x" * 100 + b"1" * 19,
    b"x" * 100 + b"1" * 20,
    b"x" * 100 + b"-" + b"1" * 19,
    b"1" * 19 + b"-" + b"1" * 18,
    b"1" * 10 + b" " + b"1" * 10,
    b"1" * 10 + b"-" + b"1" * 10,
    b"/" * 19 + b":" * 19,  # the neighbours of '0' and '9'
    b"0123456789" * 2,
    b"0123456789/0123456789",
    b"012345678:0123456789",
    b'{"n":18446744073709551616}',
    b'{"n":18446744073709551615}',
    b'{"n":-9223372036854775808}',
    b'{"n":-922337203685477580}',
    b'{"n":1.2345678901234567890}',
    b'{"n":1234567890123456789e5}',
    bytes(range(256)) * 3,
    b"\xb0" * 40,  # '0' | 0x80
    b"-" * 40,
] + [b"x" * pad + b"9" * run + b"x" * pad for pad in range(25) for run in (19, 20)]


@pytest.mark.parametrize("data", DIGIT_EDGES, ids=lambda d: repr(d[:40]))
def test_digit_runs_match_the_reference_on_edge_cases(data: bytes) -> None:
    assert has_long_digit_run(data) is may_hold_wide_integers(data)
    assert has_long_digit_run(bytearray(data)) is may_hold_wide_integers(data)
    assert has_long_digit_run(memoryview(data)) is may_hold_wide_integers(data)


def test_digit_runs_are_found_at_every_offset() -> None:
    for size in (19, 20):
        for pad in range(60):
            for tail in range(3):
                data = b"a" * pad + b"7" * size + b"a" * tail
                assert has_long_digit_run(data) is (size == 20), (size, pad, tail)
                signed = b"a" * pad + b"-" + b"7" * size + b"a" * tail
                assert has_long_digit_run(signed) is True, (size, pad, tail)


def test_digit_runs_never_look_before_the_buffer() -> None:
    data = b"-" + b"1" * 19 + b"x"
    assert has_long_digit_run(data) is True
    assert has_long_digit_run(memoryview(data)[1:]) is False
    assert has_long_digit_run(memoryview(data)[1:-1]) is False
    assert has_long_digit_run(memoryview(b"1" * 21)[1:]) is True


def test_digit_runs_reject_non_buffers() -> None:
    for data in ("0" * 20, None, 12345678901234567890, ["1"]):
        with pytest.raises(TypeError):
            has_long_digit_run(data)


chunks = st.one_of(
    st.sampled_from([b"0", b"5", b"9", b"-", b"--", b"/", b":", b" ", b"a", b",", b"\xb5"]),
    st.sampled_from([b"1" * n for n in (5, 9, 10, 17, 18, 19, 20)]),
    st.binary(max_size=5),
)


@settings(max_examples=1000, deadline=None)
@given(data=st.lists(chunks, max_size=60).map(b"".join))
def test_digit_runs_match_the_reference_on_digit_heavy_bytes(data: bytes) -> None:
    assert has_long_digit_run(data) is may_hold_wide_integers(data)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_digit_runs_match_the_reference_on_any_bytes(data: bytes) -> None:
    assert has_long_digit_run(data) is may_hold_wide_integers(data)
