"""Values are stored as native MessagePack; JSON types map one to one.

A write batch travels as PackedPairs: each key's MessagePack followed by its value's, the tail
of a storage tuple. msgspec packs a mapping; a clean write body is transcoded straight to pairs
by the C extension `_jsonbatch` (docs/decisions/001-c-write-path.md).
"""

from collections.abc import Mapping
from types import ModuleType
from typing import Any

import msgspec
import orjson

from kv_api.domain.errors import InvalidKey, InvalidValue
from kv_api.domain.keys import BatchLimits, JsonValue

jsonbatch: ModuleType | None
try:
    from kv_api.infrastructure import _jsonbatch as jsonbatch
except ImportError:  # pragma: no cover - only without a C compiler at install time
    jsonbatch = None

_encode = msgspec.msgpack.Encoder().encode


class PackedPairs:
    """Keys, and for each the MessagePack of the key then of its value. Two lists rather than
    a tuple per pair: fewer objects for the garbage collector to scan on large batches."""

    __slots__ = ("keys", "pairs")

    def __init__(self, keys: list[str], pairs: list[bytes]) -> None:
        if len(keys) != len(pairs):
            raise ValueError("keys and pairs differ in length")
        self.keys = keys
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.keys)


def encode_value(key: str, value: JsonValue) -> bytes:
    """The MessagePack of one value; InvalidValue names the key for what it cannot hold."""
    try:
        return _encode(value)
    except OverflowError:
        raise InvalidValue(key, "integer outside the 64-bit range") from None
    except UnicodeEncodeError:
        raise InvalidValue(key, "string is not valid Unicode") from None
    except RecursionError:
        raise InvalidValue(key, "nested too deeply") from None


def _encode_key(key: str) -> bytes:
    try:
        return _encode(key)
    except UnicodeEncodeError:
        raise InvalidKey(key, "is not valid Unicode") from None


class MsgpackBatchCodec:
    """Packs the items of a write; BatchLimits gives the encoded size limit of a value."""

    def __init__(self, limits: BatchLimits) -> None:
        self._limits = limits

    def pack(self, items: Mapping[str, JsonValue]) -> PackedPairs:
        keys = list(items)
        try:  # the whole batch at once: a few times faster than a checked loop per pair
            heads, values = list(map(_encode, keys)), list(map(_encode, items.values()))
        except (OverflowError, UnicodeEncodeError, RecursionError):
            return self._pack_naming_the_problem(items)
        if max(map(len, values), default=0) > self._limits.max_value_bytes:
            return self._pack_naming_the_problem(items)
        return PackedPairs(keys, list(map(bytes.__add__, heads, values)))

    def _pack_naming_the_problem(self, items: Mapping[str, JsonValue]) -> PackedPairs:
        pairs: list[bytes] = []
        for key, value in items.items():
            head = _encode_key(key)
            packed = encode_value(key, value)
            self._limits.check_encoded_size(key, len(packed))
            pairs.append(head + packed)
        return PackedPairs(list(items), pairs)


class WriteBodyDecoder:
    """A write request's body straight to packed pairs checked against the limits, and its
    other top-level members parsed (options such as "mode"). None when the extension is
    missing or the body is anything but a clean write: the caller then parses it the usual
    way, which also names the problem."""

    def __init__(self, limits: BatchLimits, use_native: bool = True) -> None:
        self._limits = limits
        self._transcode = jsonbatch.transcode_pairs if jsonbatch and use_native else None

    def __call__(self, body: bytes) -> tuple[PackedPairs, dict[str, Any]] | None:
        if self._transcode is None:
            return None
        limits = self._limits
        found = self._transcode(
            body, limits.max_items, limits.max_key_bytes, limits.max_value_bytes, limits.max_depth
        )
        if found is None:
            return None
        keys, pairs, rest = found
        options: dict[str, Any] = {} if rest is None else orjson.loads(rest)
        return PackedPairs(keys, pairs), options
