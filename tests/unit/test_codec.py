"""The batch encoder: msgspec packs parsed pairs, the C extension a clean write body, to the
same prepared batch; what MessagePack cannot hold is an InvalidValue naming the key."""

from typing import Any

import msgspec
import orjson
import pytest

from kv_api.domain.errors import InvalidKey, InvalidValue
from kv_api.domain.keys import BatchLimits
from kv_api.infrastructure import codec
from kv_api.infrastructure.codec import MsgpackBatchEncoder

LIMITS = BatchLimits(max_key_bytes=8, max_value_bytes=64, max_depth=3)
_pack = msgspec.msgpack.encode


def pairs_of(items: dict[str, Any]) -> list[bytes]:
    return [_pack(key) + _pack(value) for key, value in items.items()]


def test_the_extension_is_built() -> None:
    """`make` installs a C compiler and the Python headers: a missing build is a bug."""
    assert codec.jsonbatch is not None


@pytest.mark.parametrize(
    "items",
    [{"k": 1}, {"a": None, "b": True, "c": -(2**63), "d": 2**64 - 1, "e": 1.0, "f": "é"}],
    ids=repr,
)
def test_mappings_pack_to_key_then_value(items: dict[str, Any]) -> None:
    packed = MsgpackBatchEncoder(LIMITS).from_items(items)
    assert (packed.keys, packed.encoded, len(packed)) == (list(items), pairs_of(items), len(items))


@pytest.mark.parametrize("bad", [2**64, -(2**63) - 1, [1, {"x": 2**70}]])
def test_integers_outside_64_bits_are_invalid(bad: Any) -> None:
    with pytest.raises(InvalidValue, match="64-bit") as exc:
        MsgpackBatchEncoder(LIMITS).from_items({"ok": 1, "big": bad})
    assert exc.value.key == "big"


@pytest.mark.parametrize("bad", ["\ud800", ["ok", "x\udfff"], {"\udc00": 1}])
def test_lone_surrogates_are_invalid(bad: Any) -> None:
    with pytest.raises(InvalidValue, match="not valid Unicode") as exc:
        MsgpackBatchEncoder(LIMITS).from_items({"s": bad})
    assert exc.value.key == "s"


def test_a_lone_surrogate_key_is_invalid() -> None:
    with pytest.raises(InvalidKey, match="not valid Unicode"):
        MsgpackBatchEncoder(LIMITS).from_items({"\ud800": 1})


def test_encoded_size_limit() -> None:
    # str of 62 characters: 2-byte str8 header + 62 bytes = exactly 64
    MsgpackBatchEncoder(LIMITS).from_items({"edge": "x" * 62})
    with pytest.raises(InvalidValue, match="65 bytes encoded") as exc:
        MsgpackBatchEncoder(LIMITS).from_items({"ok": 1, "over": "x" * 63})
    assert exc.value.key == "over"


def test_the_rules_of_the_domain_are_checked_first() -> None:
    with pytest.raises(InvalidKey, match="longer than 8 bytes"):
        MsgpackBatchEncoder(LIMITS).from_items({"x" * 9: 1})
    with pytest.raises(InvalidValue, match="nested deeper than 3"):
        MsgpackBatchEncoder(LIMITS).from_items({"k": [[[[1]]]]})


def test_write_bodies_decode_to_what_the_codec_packs() -> None:
    items = {"a": {"b": [1, 2.5, None]}, "é": "x"}
    body = orjson.dumps({"mode": "insert", "data": items, "ttl": [1, {"z": None}]})
    decoded = MsgpackBatchEncoder(LIMITS).from_body(body)
    assert decoded is not None
    packed, options = decoded
    assert options == {"mode": "insert", "ttl": [1, {"z": None}]}
    expected = MsgpackBatchEncoder(LIMITS).from_items(items)
    assert (packed.keys, packed.encoded) == (expected.keys, expected.encoded)


def test_a_body_of_data_alone_has_no_options() -> None:
    decoded = MsgpackBatchEncoder(LIMITS).from_body(b'{"data": {"k": 1}}')
    assert decoded is not None and decoded[1] == {}


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": {"k": 1, "k": 2}}',
        b'{"data": {}}',
        b'{"data": {"k": 1}',
        b'{"data": {"k": 1}, "mode": "a", "mode": "b"}',
        b'{"data": {"k": "' + b"x" * 63 + b'"}}',
        b'{"data": {"k": [[[[1]]]]}}',
        b'{"data": {"k": 18446744073709551616}}',
        b"[]",
        b"",
    ],
    ids=repr,
)
def test_bodies_the_decoder_leaves_to_the_slow_path(body: bytes) -> None:
    assert MsgpackBatchEncoder(LIMITS).from_body(body) is None


def test_the_decoder_can_be_switched_off() -> None:
    assert MsgpackBatchEncoder(LIMITS, use_native=False).from_body(b'{"data": {"k": 1}}') is None
