"""The C fast path from a write body to MessagePack: for every body it either gives exactly what
the slow path gives (orjson, BatchLimits, then msgspec) or None, and it does not
give None for a clean body the slow path accepts."""

import gc
import json
import math
import os
import random
import struct
import sys
import tracemalloc
from typing import Any, cast

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench.payloads import dataset
from kv_api.domain.errors import DomainError
from kv_api.domain.keys import BatchLimits
from kv_api.infrastructure._jsonbatch import transcode_pairs
from kv_api.infrastructure.codec import MsgpackBatchEncoder

MAX_ITEMS = 10_000
MAX_KEY = 1024
MAX_VALUE = 1024 * 1024
MAX_DEPTH = 64
LIMITS = (MAX_ITEMS, MAX_KEY, MAX_VALUE, MAX_DEPTH)
_pack = msgspec.msgpack.encode

Result = tuple[list[str], list[bytes], dict[str, Any]]


# --- the reference: the slow path, and what makes a body "clean" -------------------------------


def reference(
    body: bytes,
    max_items: int = MAX_ITEMS,
    max_key_bytes: int = MAX_KEY,
    max_value_bytes: int = MAX_VALUE,
    max_depth: int = MAX_DEPTH,
) -> Result | None:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(document) is not dict:
        return None
    data = document.get("data")
    if type(data) is not dict or not data or len(data) > max_items:
        return None
    limits = BatchLimits(max_items, max_key_bytes, max_value_bytes, max_depth)
    try:
        packed = MsgpackBatchEncoder(limits).from_items(data)
    except DomainError:
        return None
    pairs = cast(list[bytes], packed.encoded)
    values = [pair[len(_pack(key)) :] for key, pair in zip(packed.keys, pairs, strict=True)]
    return list(data), values, {name: v for name, v in document.items() if name != "data"}


class _Unclean(Exception):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({name for name, _ in pairs}) != len(pairs):
        raise _Unclean("duplicate member name")
    return dict(pairs)


def _int_in_64_bits(text: str) -> int:
    number = int(text)
    if not -(2**63) <= number <= 2**64 - 1:
        raise _Unclean("integer outside 64 bits")  # orjson makes it a float
    return number


def is_clean(body: bytes) -> bool:
    """No duplicate member names anywhere and no integer outside 64 bits (the standard parser,
    which keeps both, tells): the cases where the fast path may not decline an accepted body.
    Lone surrogates and nesting past 1024 need no test here: orjson refuses them itself."""
    try:
        json.loads(body, object_pairs_hook=_unique_pairs, parse_int=_int_in_64_bits)
    except (_Unclean, ValueError, RecursionError):
        return False
    return True


def transcode_write(body: Any, *limits: int) -> Result | None:
    """transcode_pairs, its pairs split back into values (each must start with its key)."""
    result = transcode_pairs(body, *limits)
    if result is None:
        return None
    keys, pairs, rest = result
    values = []
    for key, pair in zip(keys, pairs, strict=True):
        assert pair.startswith(_pack(key))
        values.append(pair[len(_pack(key)) :])
    assert rest is None or type(rest) is bytes
    return keys, values, {} if rest is None else orjson.loads(rest)


def fast(body: Any, *limits: int) -> Result | None:
    result: Result | None = transcode_write(body, *(limits or LIMITS))
    if result is not None:
        keys, values, _ = result
        assert type(keys) is list and type(values) is list
        assert all(type(key) is str for key in keys)
        assert all(type(value) is bytes for value in values)
    return result


def check(body: bytes, limits: tuple[int, int, int, int] = LIMITS) -> Result | None:
    """The property: None or the reference, and never None for a clean accepted body."""
    got = fast(body, *limits)
    expected = reference(body, *limits)
    if got is not None:
        assert got == expected, body[:300]
    elif expected is not None:
        assert not is_clean(body), f"clean body refused: {body[:300]!r}"
    return got


def write_body(value: bytes) -> bytes:
    return b'{"data":{"k":' + value + b"}}"


def packed(body: bytes, *limits: int) -> bytes | None:
    """msgpack of the value of "k" by the fast path (which must agree with the reference)."""
    result = check(body, (limits[0], limits[1], limits[2], limits[3])) if limits else check(body)
    return None if result is None else result[1][0]


# --- generated documents -----------------------------------------------------------------------


class Raw(str):
    """A number token, written as is."""


class Pairs(list[tuple[str, Any]]):
    """An object as a list of members, whose names may repeat."""


INT_BOUNDARIES = [
    0, 1, 127, 128, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1, 2**32,
    2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**64 + 1, 10**20,
    -1, -31, -32, -33, -127, -128, -129, -32767, -32768, -32769,
    -(2**31) + 1, -(2**31), -(2**31) - 1, -(2**32), -(2**63) + 1, -(2**63), -(2**63) - 1,
]  # fmt: skip
FLOAT_EDGES = [
    0.0, -0.0, 1.0, -1.5, 0.1, 5e-324, -5e-324, 2.2250738585072014e-308,
    2.225073858507201e-308, 1.7976931348623157e308, -1.7976931348623157e308, 1e16, 1e22,
    1e23, 2.0**53, 2.0**53 + 2, 9007199254740993.0, 123456.789, 1e-7, 4.35,
]  # fmt: skip
SPECIAL_CHARS = '"\\/\b\f\n\r\t\x00\x01\x1f\x7f\x80\xe9\u07ff\u0800\u2028\ufeff\uffff😀\U0010ffff'

characters = st.one_of(
    st.characters(codec="utf-8"),  # anything but surrogates
    st.sampled_from(SPECIAL_CHARS),
    st.characters(max_codepoint=0x1F),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates, rarely
)
text = st.one_of(
    st.text(characters, max_size=12),
    # long strings, cheap to draw: past the fixstr and str8 headers
    st.builds(
        lambda part, times: part * times, st.text(characters, max_size=3), st.integers(8, 90)
    ),
    st.sampled_from(["", "a", "mode", "data", "é" * 20]),
)
keys = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=10),
    st.text(characters, max_size=6),
    st.sampled_from(["k", "é" * 8, "ab"]),
)
number_tokens = st.builds(
    lambda sign, whole, fraction, exponent: Raw(sign + whole + fraction + exponent),
    st.sampled_from(["", "-"]),
    st.one_of(st.integers(0, 2**64 + 9), st.integers(0, 10**25)).map(str),
    st.one_of(
        st.just(""),
        st.builds(
            lambda n, width: "." + str(n).zfill(width), st.integers(0, 10**30), st.integers(1, 31)
        ),
    ),
    st.one_of(
        st.just(""),
        st.builds(
            lambda e, sign, width: e + sign + str(width[0]).zfill(width[1]),
            st.sampled_from("eE"),
            st.sampled_from(["", "+", "-"]),
            st.tuples(st.integers(0, 999), st.integers(1, 4)),
        ),
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(INT_BOUNDARIES),
    st.integers(min_value=-(2**64), max_value=2**65),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(FLOAT_EDGES),
    number_tokens,
    text,
)


def repeated(value: Any, times: int) -> list[Any]:
    return [value] * times


def members(value: Any, times: int) -> dict[str, Any]:
    return {f"m{i}": value for i in range(times)}


def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    sizes = st.integers(14, 20)  # past fixarray and fixmap; cheap to draw, and kept small
    return st.one_of(
        st.lists(children, max_size=5),
        st.builds(repeated, st.one_of(scalars, st.lists(scalars, max_size=2)), sizes),
        st.dictionaries(keys, children, max_size=5),
        st.builds(members, st.one_of(scalars, st.dictionaries(keys, scalars, max_size=2)), sizes),
        st.lists(st.tuples(st.sampled_from(["a", "b", "\u0061"]), children), max_size=4).map(Pairs),
    )


json_values = st.recursive(scalars, containers, max_leaves=30)


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """Mostly write bodies; sometimes something else in place of the body or of "data"."""
    data = draw(
        st.one_of(
            st.dictionaries(keys, json_values, min_size=1, max_size=6),
            st.builds(
                lambda value, times: {f"key{i}": value for i in range(times)},
                json_values,
                st.integers(17, 25),
            ),
            st.lists(st.tuples(keys, json_values), max_size=5).map(Pairs),
            json_values,
        )
    )
    members: list[tuple[str, Any]] = [("data", data)]
    if draw(st.booleans()):
        mode = draw(st.one_of(st.sampled_from(["insert", "upsert", ""]), text, json_values))
        members.append(("mode", mode))
    members += draw(st.lists(st.tuples(keys, json_values), max_size=2))
    document: Any = Pairs(draw(st.permutations(members)))
    if draw(st.integers(0, 15)) == 0:
        document = draw(json_values)
    return document


def plain(value: Any) -> Any:
    """The document for json.dumps and orjson.dumps: dicts, and numbers for tokens."""
    if isinstance(value, Raw):
        return float(value) if any(c in value for c in ".eE") else int(value)
    if isinstance(value, Pairs):
        return {name: plain(item) for name, item in value}
    if isinstance(value, dict):
        return {name: plain(item) for name, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f"}
SHORT_ESCAPES.update({"\n": "\\n", "\r": "\\r", "\t": "\\t"})


def u_escape(code: int, rng: random.Random) -> str:
    escape = f"\\u{code:04x}"
    return escape.upper().replace("\\U", "\\u") if rng.random() < 0.3 else escape


def dump_string(value: str, rng: random.Random, ascii_only: bool) -> str:
    out = ['"']
    for char in value:
        code = ord(char)
        must = char in '"\\' or code < 0x20 or (ascii_only and code > 0x7E)
        if not must and rng.random() < 0.85:
            out.append(char)
        elif char in SHORT_ESCAPES and rng.random() < 0.7:
            out.append(SHORT_ESCAPES[char])
        elif code > 0xFFFF:
            code -= 0x10000
            out.append(
                u_escape(0xD800 + (code >> 10), rng) + u_escape(0xDC00 + (code & 0x3FF), rng)
            )
        else:
            out.append(u_escape(code, rng))
    out.append('"')
    return "".join(out)


def dump_number(value: int | float, rng: random.Random) -> str:
    if isinstance(value, int):
        return "-0" if value == 0 and rng.random() < 0.2 else str(value)
    style = rng.randrange(4)
    if style == 1:
        return f"{value:.17e}"
    if style == 2:
        return f"{value:.16E}".replace("E+", "E")
    return repr(value)


def dump(value: Any, rng: random.Random, ascii_only: bool) -> str:
    """JSON text with random white space and random (valid) escapes."""

    def ws() -> str:
        return rng.choice(["", "", "", " ", "\n", "\t", "\r\n  "])

    if value is None or isinstance(value, bool):
        out = json.dumps(value)
    elif isinstance(value, Raw):
        out = str(value)
    elif isinstance(value, str):
        out = dump_string(value, rng, ascii_only)
    elif isinstance(value, (int, float)):
        out = dump_number(value, rng)
    elif isinstance(value, (Pairs, dict)):
        pairs = value if isinstance(value, Pairs) else list(value.items())
        members = [
            f"{dump_string(name, rng, ascii_only)}{ws()}:{dump(item, rng, ascii_only)}"
            for name, item in pairs
        ]
        out = "{" + ",".join(members or [ws()]) + "}"
    else:
        out = "[" + ",".join([dump(item, rng, ascii_only) for item in value] or [ws()]) + "]"
    return ws() + out + ws()


def serialize(document: Any, style: int, seed: int) -> bytes:
    if style == 0:
        try:
            return orjson.dumps(plain(document))
        except orjson.JSONEncodeError:  # integers past 64 bits, surrogates
            style = 1
    if style in (1, 2):
        text = json.dumps(plain(document), ensure_ascii=style == 1)
    else:
        text = dump(document, random.Random(seed), ascii_only=style == 3)
    return text.encode("utf-8", "surrogatepass")


bodies = st.builds(serialize, documents(), st.integers(0, 4), st.integers(0, 2**32))

SETTINGS = settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.slow
@SETTINGS
@given(body=bodies)
@example(body=b'{"data":{"a":[1,2.5,"x"],"b":{"c":null}},"mode":"insert"}')
def test_generated_bodies_match_the_reference(body: bytes) -> None:
    check(body)


@pytest.mark.slow
@SETTINGS
@given(
    body=bodies,
    max_items=st.integers(-1, 4),
    max_key_bytes=st.integers(-1, 12),
    max_value_bytes=st.integers(-1, 300),
    max_depth=st.integers(-1, 4),
)
def test_generated_bodies_match_the_reference_with_tight_limits(
    body: bytes, max_items: int, max_key_bytes: int, max_value_bytes: int, max_depth: int
) -> None:
    check(body, (max_items, max_key_bytes, max_value_bytes, max_depth))


@pytest.mark.slow
@SETTINGS
@given(
    body=bodies,
    edits=st.lists(
        st.tuples(st.sampled_from("fidt"), st.integers(0, 2**20), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_bodies_match_the_reference(body: bytes, edits: list[tuple[str, int, int]]) -> None:
    mutated = bytearray(body)
    for kind, where, byte in edits:
        at = where % (len(mutated) + 1)
        if kind == "f" and at < len(mutated):
            mutated[at] ^= 1 << (byte % 8)
        elif kind == "i":
            mutated.insert(at, byte)
        elif kind == "d" and at < len(mutated):
            del mutated[at]
        elif kind == "t":
            del mutated[at:]
    check(bytes(mutated))


@settings(max_examples=300, deadline=None)
@given(token=number_tokens)
@example(token=Raw("9007199254740993.0"))
@example(token=Raw("2.2250738585072011e-308"))
@example(token=Raw("7.2057594037927933e16"))
def test_any_number_token_matches_orjson(token: str) -> None:
    body = write_body(token.encode())
    result = check(body)
    expected = orjson.loads(str(token)) if reference(body) is not None else None
    if result is not None:
        assert result[1] == [_pack(expected)]


# --- hand-picked: what must be accepted, byte for byte -----------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (b"0", b"\x00"),
        (b"-0", b"\x00"),  # the int 0, as orjson reads it
        (b"127", b"\x7f"),
        (b"128", b"\xcc\x80"),
        (b"-32", b"\xe0"),
        (b"-33", b"\xd0\xdf"),
        (b"18446744073709551615", b"\xcf" + b"\xff" * 8),
        (b"9223372036854775808", b"\xcf\x80" + b"\x00" * 7),
        (b"-9223372036854775808", b"\xd3\x80" + b"\x00" * 7),
        (b"0.0", b"\xcb" + b"\x00" * 8),
        (b"-0.0", b"\xcb\x80" + b"\x00" * 7),
        (b"1.0", b"\xcb\x3f\xf0" + b"\x00" * 6),
        (b"1E+2", b"\xcb" + struct.pack(">d", 100.0)),
        (b"1e2", b"\xcb" + struct.pack(">d", 100.0)),
        (b"-0e5", b"\xcb\x80" + b"\x00" * 7),
        (b"4.9e-324", b"\xcb" + struct.pack(">d", 5e-324)),
        (b"2.2250738585072014e-308", b"\xcb" + struct.pack(">d", 2.2250738585072014e-308)),
        (b"1.7976931348623157e308", b"\xcb" + struct.pack(">d", 1.7976931348623157e308)),
        (b"true", b"\xc3"),
        (b"false", b"\xc2"),
        (b"null", b"\xc0"),
        (b'"\\u00e9\\ud83d\\ude00\\/"', b"\xa7\xc3\xa9\xf0\x9f\x98\x80/"),
        (b'"\\u0000"', b"\xa1\x00"),
        (b'"\\b\\f\\n\\r\\t\\"\\\\\\/"', b'\xa8\x08\x0c\n\r\t"\\/'),
        (
            b'"\\u007f\\u0080\\u07FF\\u0800\\uffff"',
            b"\xab\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf",
        ),
        (b"[]", b"\x90"),
        (b"{}", b"\x80"),
    ],
)
def test_values_are_packed_like_msgpack_python(token: bytes, expected: bytes) -> None:
    assert packed(write_body(token)) == expected


def test_underflow_is_zero_like_orjson() -> None:
    assert orjson.loads(b"1e-400") == 0.0  # if orjson ever refused it, the fast path must too
    assert packed(write_body(b"1e-400")) == b"\xcb" + b"\x00" * 8
    assert packed(write_body(b"-1e-400")) == _pack(orjson.loads(b"-1e-400"))


@pytest.mark.parametrize(
    "token",
    [
        b"123456789012345678901",  # orjson: a float; the fast path declines
        b"18446744073709551616",
        b"-9223372036854775809",
        b"100000000000000000000000",
        b"1e400",
        b"-1e400",
        b"1" * 400 + b".0",
    ],
)
def test_numbers_out_of_range_are_declined(token: bytes) -> None:
    assert fast(write_body(token)) is None
    check(write_body(token))


@pytest.mark.parametrize(
    "token",
    [
        b"0.1", b"0.3", b"1.25", b"3.141592653589793", b"9007199254740993", b"9007199254740993.0",
        b"9007199254740992e-22", b"1e22", b"1e23", b"8.98846567431158e307",
        b"123456789012345678e-3",
        b"0.000000000000000000000000000001", b"1" + b"0" * 300 + b".5e-300", b"2.5e-324",
        b"2.4703282292062328e-324", b"1.00000000000000011102230246251565404236316680908203125",
        b"4.35", b"-4.35E-5", b"100e-2", b"0e-999", b"1e0", b"1E-0",
    ],
)  # fmt: skip
def test_floats_round_like_orjson(token: bytes) -> None:
    assert packed(write_body(token)) == _pack(orjson.loads(token))


@pytest.mark.parametrize("byte", [*range(0x20), 0x22, 0x5C, 0x7F, 0x80, 0xBF, 0xC1, 0xF5, 0xFF])
def test_special_bytes_are_seen_at_every_offset_of_a_string(byte: int) -> None:
    # The scan looks at 8 and 16 bytes at a time: each offset must be seen.
    for before in range(0, 26):
        for after in (0, 1, 7, 8, 20):
            check(write_body(b'"' + b"a" * before + bytes([byte]) + b"b" * after + b'"'))


@pytest.mark.parametrize("escape", [b"\\n", b"\\u00e9", b"\\ud83d\\ude00", b"\\\\", b'\\"'])
def test_escapes_at_every_offset_of_a_string(escape: bytes) -> None:
    for before in range(0, 26):
        for after in (0, 1, 7, 8, 20):
            string = b'"' + b"a" * before + escape + "é".encode() * after + b'"'
            result = check(write_body(string))
            assert result is not None
            assert result[1] == [_pack(orjson.loads(string))]


@pytest.mark.parametrize("length", [0, 1, 31, 32, 255, 256, 65535, 65536])
@pytest.mark.parametrize("char", ["a", "é", "€", "😀", "\\n", "\\u20ac"])
def test_string_headers_follow_the_utf8_length(length: int, char: str) -> None:
    body = write_body(b'"' + char.encode() * length + b'"')
    assert packed(body) == _pack(orjson.loads(body)["data"]["k"])


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 255, 256, 65535, 65536])
def test_container_headers_at_every_size(size: int) -> None:
    array = orjson.dumps(list(range(size)))
    assert packed(write_body(array)) == _pack(list(range(size)))
    obj = {f"m{i}": i for i in range(size)}
    assert packed(write_body(orjson.dumps(obj))) == _pack(obj)


def test_big_containers_nested_in_each_other() -> None:
    # Headers wider than the one byte reserved, at several levels and positions.
    rng = random.Random(7)

    def grow(level: int) -> Any:
        if level == 0:
            return rng.choice([1, "x" * rng.randrange(40), None, 2.5, -70000])
        size = rng.choice([0, 3, 15, 16, 20, 300 if level == 1 else 17])
        if rng.random() < 0.5:
            return [grow(level - 1) for _ in range(size)]
        return {f"n{i}": grow(level - 1) for i in range(size)}

    for _ in range(5):
        value = [grow(3), {f"k{i}": grow(2) for i in range(17)}, grow(1)]
        body = write_body(orjson.dumps(value))
        assert packed(body, MAX_ITEMS, MAX_KEY, 2**30, MAX_DEPTH) == _pack(value)


def test_the_realistic_batch_matches_the_reference() -> None:
    data = dataset()
    body = orjson.dumps({"data": data})
    result = check(body)
    assert result is not None
    assert result == (list(data), [_pack(value) for value in data.values()], {})
    result = check(orjson.dumps({"data": data, "mode": "insert"}))
    assert result is not None
    assert result[2] == {"mode": "insert"}
    assert result[0] == list(data)


def test_keys_keep_document_order_and_unescape() -> None:
    body = b'{"mode" : "up\\u0073ert", "data":{"z":1,"\\u00e9t\\u00e9":2,"a\\"b":3}, "x": [1]}'
    assert check(body) == (
        ["z", "été", 'a"b'],
        [b"\x01", b"\x02", b"\x03"],
        {"mode": "upsert", "x": [1]},
    )


def test_other_members_may_hold_anything_valid_and_come_back_as_json() -> None:
    other = {"y": [1, {"z": []}], "w": "é" * 100}
    body = b'{"x":' + orjson.dumps(other) + b',"data":{"a":1},"n":1e5}'
    assert check(body) == (["a"], [b"\x01"], {"x": other, "n": 1e5})
    body = b'{"data":{"a":1},"mode":"m","other":null}'
    assert check(body) == (["a"], [b"\x01"], {"mode": "m", "other": None})
    for mode in (b"null", b"1", b'["insert"]'):  # the options are Python's to check
        assert check(b'{"data":{"a":1},"mode":' + mode + b"}") == (
            ["a"],
            [b"\x01"],
            {"mode": orjson.loads(mode)},
        )


def test_whitespace_everywhere() -> None:
    body = b' \t\r\n{ "data" :\n{ "a" : [ 1 , { "b" : "c" } ] } , "mode":"x" }\r\n'
    assert check(body) == (["a"], [_pack([1, {"b": "c"}])], {"mode": "x"})


def test_any_buffer_is_accepted() -> None:
    body = b'{"data":{"a":"b"}}'
    expected: Result = (["a"], [b"\xa1b"], {})
    assert fast(bytearray(body)) == expected
    assert fast(memoryview(body)) == expected
    assert fast(memoryview(b"xx" + body)[2:]) == expected


def test_wrong_argument_types_raise() -> None:
    with pytest.raises(TypeError):
        transcode_write('{"data":{"a":1}}', *LIMITS)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        transcode_write(b'{"data":{"a":1}}', "10", 1, 1, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        transcode_write(b'{"data":{"a":1}}', 1, 1, 1)  # type: ignore[call-arg]
    with pytest.raises(OverflowError):
        transcode_write(b'{"data":{"a":1}}', 2**70, 1, 1, 1)


# --- hand-picked: what must be declined --------------------------------------------------------

DECLINED = {
    # not exactly one valid JSON document
    "empty": b"",
    "blank": b" \n",
    "bom": b'\xef\xbb\xbf{"data":{"a":1}}',
    "form feed": b'\x0c{"data":{"a":1}}',
    "nbsp": b'{"data":{"a":1}}\xc2\xa0',
    "trailing garbage": b'{"data":{"a":1}} x',
    "two documents": b'{"data":{"a":1}}{}',
    "truncated": b'{"data":{"a":1}',
    "trailing comma in data": b'{"data":{"a":1,}}',
    "trailing comma in array": b'{"data":{"a":[1,]}}',
    "trailing comma at top": b'{"data":{"a":1},}',
    "missing comma": b'{"data":{"a":1 "b":2}}',
    "missing colon": b'{"data":{"a" 1}}',
    "comment": b'{"data":{"a":1 /* c */}}',
    "single quotes": b"{\"data\":{'a':1}}",
    "unquoted name": b'{"data":{a:1}}',
    "NaN": b'{"data":{"a":NaN}}',
    "Infinity": b'{"data":{"a":Infinity}}',
    "-Infinity": b'{"data":{"a":-Infinity}}',
    "leading zero": b'{"data":{"a":01}}',
    "negative leading zero": b'{"data":{"a":-01}}',
    "bare dot": b'{"data":{"a":1.}}',
    "leading dot": b'{"data":{"a":.5}}',
    "bare minus": b'{"data":{"a":-}}',
    "plus sign": b'{"data":{"a":+1}}',
    "bare exponent": b'{"data":{"a":1e}}',
    "exponent sign only": b'{"data":{"a":1e+}}',
    "hex": b'{"data":{"a":0x10}}',
    "capital True": b'{"data":{"a":True}}',
    "short literal": b'{"data":{"a":nul}}',
    "misspelt null": b'{"data":{"a":nulL}}',
    "misspelt true": b'{"data":{"a":trUe}}',
    "misspelt false": b'{"data":{"a":fals3}}',
    "literal at the end": b'{"data":{"a":tru',
    "raw control character": b'{"data":{"a":"x\x01y"}}',
    "raw tab": b'{"data":{"a":"x\ty"}}',
    "raw newline in a name": b'{"data":{"a\n":1}}',
    "unknown escape": b'{"data":{"a":"\\x41"}}',
    "capital U escape": b'{"data":{"a":"\\U0041"}}',
    "short u escape": b'{"data":{"a":"\\u041"}}',
    "bad hex": b'{"data":{"a":"\\u00g1"}}',
    "escape at the end": b'{"data":{"a":"\\',
    "unterminated string": b'{"data":{"a":"abc',
    "overlong slash": b'{"data":{"a":"\xc0\xaf"}}',
    "overlong 3 bytes": b'{"data":{"a":"\xe0\x80\xaf"}}',
    "overlong 4 bytes": b'{"data":{"a":"\xf0\x80\x80\xaf"}}',
    "utf8 surrogate": b'{"data":{"a":"\xed\xa0\x80"}}',
    "utf8 low surrogate": b'{"data":{"a":"\xed\xbf\xbf"}}',
    "past U+10FFFF": b'{"data":{"a":"\xf4\x90\x80\x80"}}',
    "F5 lead": b'{"data":{"a":"\xf5\x80\x80\x80"}}',
    "lone continuation": b'{"data":{"a":"\x80"}}',
    "truncated sequence": b'{"data":{"a":"\xe2\x82"}}',
    "truncated at the end": b'{"data":{"a":"\xe2',
    "invalid utf8 in a name": b'{"data":{"\xff":1}}',
    "invalid utf8 outside strings": b'{"data":{"a":1}\xff}',
    "lone high surrogate escape": b'{"data":{"a":"\\ud800"}}',
    "lone low surrogate escape": b'{"data":{"a":"\\udc00"}}',
    "high surrogate then letter": b'{"data":{"a":"\\ud800x"}}',
    "high surrogate then non-low": b'{"data":{"a":"\\ud800\\u0041"}}',
    "two high surrogates": b'{"data":{"a":"\\ud800\\ud800"}}',
    "reversed pair": b'{"data":{"a":"\\ude00\\ud83d"}}',
    "lone surrogate in a key": b'{"data":{"\\ud800":1}}',
    "lone surrogate in mode": b'{"data":{"a":1},"mode":"\\udfff"}',
    "lone surrogate ignored": b'{"data":{"a":1},"x":"\\ud800"}',
    "mode is a number, then a quote": b'{"data":{"a":1},"mode":1"}',
    # the structure
    "top-level array": b'[{"data":{"a":1}}]',
    "top-level string": b'"data"',
    "top-level number": b"1",
    "empty object": b"{}",
    "no data": b'{"mode":"insert"}',
    "data is an array": b'{"data":[["a",1]]}',
    "data is null": b'{"data":null}',
    "data is a string": b'{"data":"a"}',
    "data is empty": b'{"data":{}}',
    "data under another name": b'{"Data":{"a":1}}',
    "empty key": b'{"data":{"":1}}',
    # duplicate names, wherever they are
    "duplicate data": b'{"data":{"a":1},"data":{"b":2}}',
    "duplicate data, escaped": b'{"data":{"a":1},"d\\u0061ta":{"b":2}}',
    "duplicate mode": b'{"data":{"a":1},"mode":"insert","mode":"upsert"}',
    "duplicate ignored": b'{"data":{"a":1},"x":1,"x":2}',
    "duplicate key": b'{"data":{"a":1,"a":2}}',
    "duplicate key, escaped": b'{"data":{"a":1,"\\u0061":2}}',
    "duplicate key, far apart": b'{"data":{"a":1,"b":2,"c":3,"d":4,"a":5}}',
    "duplicate in a value": b'{"data":{"a":{"x":1,"y":2,"x":3}}}',
    "duplicate deep in a value": b'{"data":{"a":[1,[{"k":{"x":1,"x":1}}]]}}',
    "duplicate in an ignored member": b'{"data":{"a":1},"x":{"y":{"z":1,"z":2}}}',
    "duplicate in an ignored member after data": b'{"x":[{"q":1,"q":1}],"data":{"a":1}}',
}


@pytest.mark.parametrize("body", DECLINED.values(), ids=DECLINED.keys())
def test_declined(body: bytes) -> None:
    assert fast(body) is None
    check(body)


def many(count: int, duplicate_at: int | None = None) -> bytes:
    names = [f"name-{i}" for i in range(count)]
    if duplicate_at is not None:
        names[duplicate_at] = names[0]
    return b"{" + b",".join(f'"{n}":{i}'.encode() for i, n in enumerate(names)) + b"}"


@pytest.mark.parametrize("count", [2, 16, 17, 100, 5000])
def test_duplicates_in_big_objects_are_found_at_any_position(count: int) -> None:
    for where in {1, count // 2, count - 1}:
        assert fast(b'{"data":' + many(count, where) + b"}") is None
        assert fast(write_body(many(count, where))) is None
        assert fast(b'{"data":{"a":1},"x":' + many(count, where) + b"}") is None
    assert check(b'{"data":' + many(count) + b"}") is not None
    assert check(write_body(many(count))) is not None
    assert check(b'{"data":{"a":1},"x":' + many(count) + b"}") is not None


def test_max_items() -> None:
    body = b'{"data":' + many(5) + b"}"
    assert check(body, (5, MAX_KEY, MAX_VALUE, MAX_DEPTH)) is not None
    assert fast(body, 4, MAX_KEY, MAX_VALUE, MAX_DEPTH) is None
    assert fast(body, 0, MAX_KEY, MAX_VALUE, MAX_DEPTH) is None


def test_max_key_bytes_counts_unescaped_utf8() -> None:
    limits = (MAX_ITEMS, 4, MAX_VALUE, MAX_DEPTH)
    assert check(b'{"data":{"\\u00e9\\u00e9":1}}', limits) == (["éé"], [b"\x01"], {})
    assert check('{"data":{"éé":1}}'.encode(), limits) is not None
    assert fast('{"data":{"éé!":1}}'.encode(), *limits) is None
    assert fast(b'{"data":{"\\u00e9\\u00e9a":1}}', *limits) is None
    assert check(b'{"data":{"\\ud83d\\ude00":1}}', limits) is not None  # 4 bytes
    assert fast(b'{"data":{"\\ud83d\\ude00a":1}}', *limits) is None
    # names of ignored members and of nested objects are not keys
    assert check(b'{"data":{"a":{"long name":1}},"long name":1}', limits) is not None


def test_max_value_bytes_is_exact() -> None:
    for value in ["x" * 40, list(range(20)), {f"k{i}": "v" * i for i in range(18)}, 70000]:
        body = write_body(orjson.dumps(value))
        size = len(_pack(value))
        assert packed(body, MAX_ITEMS, MAX_KEY, size, MAX_DEPTH) == _pack(value)
        assert fast(body, MAX_ITEMS, MAX_KEY, size - 1, MAX_DEPTH) is None
    # each value on its own; ignored members and keys do not count
    body = b'{"data":{"a":"1234","b":"1234"},"x":"' + b"y" * 100 + b'"}'
    assert check(body, (MAX_ITEMS, MAX_KEY, 5, MAX_DEPTH)) is not None
    assert fast(body, MAX_ITEMS, MAX_KEY, 4, MAX_DEPTH) is None


def nest(depth: int, leaf: bytes = b"1") -> bytes:
    return (
        b'{"k":[' * (depth // 2)
        + b"[" * (depth % 2)
        + leaf
        + b"]" * (depth % 2)
        + b"]}" * (depth // 2)
    )


@pytest.mark.parametrize("depth", [1, 2, 3, 7, 64, 500])
def test_max_depth_counts_container_levels(depth: int) -> None:
    limits = (MAX_ITEMS, MAX_KEY, MAX_VALUE, depth)
    assert check(write_body(nest(depth)), limits) is not None
    assert check(write_body(nest(depth, b"[]")), limits) is None
    assert fast(write_body(nest(depth + 1)), *limits) is None
    assert check(write_body(b"[" + nest(depth - 1) + b', "x", 2]'), limits) is not None
    # ignored members may nest deeper
    body = b'{"data":{"k":1},"x":' + nest(depth + 5) + b"}"
    assert check(body, limits) is not None


def test_scalars_do_not_count_as_a_level() -> None:
    assert check(write_body(b'"s"'), (MAX_ITEMS, MAX_KEY, MAX_VALUE, 0)) is not None
    assert fast(write_body(b"[]"), MAX_ITEMS, MAX_KEY, MAX_VALUE, 0) is None
    assert fast(write_body(b"[]"), MAX_ITEMS, MAX_KEY, MAX_VALUE, -1) is None


def test_nesting_like_orjson_up_to_1024_levels() -> None:
    # The whole document may nest 1024 containers, as orjson allows, not one more.
    def ignored(levels: int) -> bytes:
        return b'{"data":{"k":1},"x":' + b"[" * levels + b"]" * levels + b"}"

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)  # the reference packs and compares 1023 levels
    try:
        assert check(ignored(1023)) is not None  # the top object makes 1024
        # inside "data", two levels are taken already
        no_limit = (MAX_ITEMS, MAX_KEY, MAX_VALUE, 10**6)
        assert check(write_body(b"[" * 1022 + b"]" * 1022), no_limit) is not None
    finally:
        sys.setrecursionlimit(limit)
    assert fast(ignored(1024)) is None
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(ignored(1024))
    assert fast(write_body(b"[" * 1023 + b"]" * 1023), *no_limit) is None
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(write_body(b"[" * 1023 + b"]" * 1023))


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 1_000_000,
        b"[" * 1_000_000 + b"]" * 1_000_000,
        b'{"data":{"a":1},"x":' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}",
        b'{"x":' + b'{"y":' * 1_000_000,
        write_body(b"[" * 1_000_000 + b"]" * 1_000_000),
    ],
    ids=["open", "closed", "ignored member", "objects", "in a value"],
)
def test_a_million_levels_are_declined_without_crashing(body: bytes) -> None:
    assert transcode_write(body, MAX_ITEMS, MAX_KEY, MAX_VALUE, 10**9) is None


# --- no leaks ----------------------------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def _under_asan() -> bool:
    return "asan" in os.environ.get("LD_PRELOAD", "")


@pytest.mark.slow
def test_no_memory_growth_on_accept_or_reject() -> None:
    small = {f"k{i}": [i, {"s": "é" * i, "f": i / 3}] for i in range(40)}
    bodies = [
        (orjson.dumps({"data": small, "mode": "insert"}), True),
        (b'{"data":{"a":1},"x":{"big":' + many(100) + b"}}", True),
        (orjson.dumps({"data": small})[:-40], False),  # truncated
        (b'{"data":{"a":1,"b":2,"a":3}}', False),
        (b'{"data":' + many(200, 150) + b"}", False),
        (b'{"data":{"a":[1,2,"' + b"x" * 5000 + b'"]}}', False),  # over max_value_bytes below
        (write_body(b'"\\ud800"'), False),
        (write_body(b"1e400"), False),
        (b'{"data":{"a":1},"mode":"x","mode":"y"}', False),
        (b'{"data":{"a":1}' + b"[" * 2000, False),
        (write_body(nest(100)), False),
    ]

    def run(times: int) -> None:
        for _ in range(times):
            for body, accepted in bodies:
                result = transcode_pairs(body, MAX_ITEMS, MAX_KEY, 4000, MAX_DEPTH)
                assert (result is not None) is accepted

    run(20)
    gc.collect()
    tracemalloc.start()
    try:
        run(50)
        gc.collect()
        before, _ = tracemalloc.get_traced_memory()
        run(1000)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 1000 rounds leaking even one small object per call would show as hundreds of KB
    assert after - before < 32 * 1024


@pytest.mark.slow
@pytest.mark.skipif(_under_asan(), reason="AddressSanitizer keeps freed memory in quarantine")
def test_no_rss_growth_on_the_realistic_batch() -> None:
    body = orjson.dumps({"data": dataset()})
    for _ in range(50):
        transcode_pairs(body, *LIMITS)
    gc.collect()
    before = _rss_bytes()
    for _ in range(2000):
        transcode_pairs(body, *LIMITS)
    gc.collect()
    # a leak of the values alone would be 128 KB per call: 250 MB
    assert _rss_bytes() - before < 8 * 1024 * 1024


def test_results_hold_the_only_references() -> None:
    body = b'{"data":{"key-a":"value-a","key-b":[1]},"mode":"insert"}'
    result = transcode_pairs(body, *LIMITS)
    assert result is not None
    assert sys.getrefcount(result) == 2  # the local and getrefcount's argument
    keys, values, mode = result
    del result
    counts = sys.getrefcount(keys), sys.getrefcount(values), sys.getrefcount(mode)
    assert counts == (2, 2, 2)  # the local and getrefcount's argument
    for index in range(2):  # none of them is a cached singleton
        items = sys.getrefcount(keys[index]), sys.getrefcount(values[index])
        assert items == (2, 2)  # the list and getrefcount's argument


def test_floats_agree_with_orjson_on_many_random_tokens() -> None:
    # A quick sweep of the fast and slow float paths against orjson's own rounding.
    rng = random.Random(1234)
    tokens = []
    for _ in range(3000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 25)))
        whole = digits.lstrip("0") or "0"
        cut = rng.randrange(len(whole) + 1)
        token = whole[:cut] or "0"
        token += "." + (whole[cut:] or "0")
        if rng.random() < 0.6:  # finite: at most 25 digits before the point
            exponent = rng.randrange(-340, 284)
            sign = "-" if exponent < 0 else rng.choice(["", "+"])
            token += rng.choice("eE") + sign + str(abs(exponent))
        tokens.append(token)
    tokens += [repr(rng.uniform(-1e6, 1e6)) for _ in range(500)]
    tokens += [repr(math.ldexp(rng.random(), rng.randrange(-1074, 1024))) for _ in range(500)]
    body = b'{"data":{' + b",".join(f'"k{i}":{t}'.encode() for i, t in enumerate(tokens)) + b"}}"
    result = check(body)
    assert result is not None
    assert result[1] == [_pack(orjson.loads(t)) for t in tokens]
