"""Values are stored as native MessagePack; JSON types map one to one.

The encoder makes a write's PreparedBatch: for each key, the MessagePack of the key then of
its value, the tail of a storage tuple. A clean write body is transcoded straight to those
bytes by the C extension `_jsonbatch` (docs/decisions/001-c-write-path.md); parsed pairs are
packed by msgspec.
"""

from collections.abc import Mapping
from types import ModuleType
from typing import Any

import msgspec
import orjson

from kv_api.application.ports import PreparedBatch
from kv_api.domain.errors import InvalidKey, InvalidValue
from kv_api.domain.keys import BatchLimits, JsonValue

jsonbatch: ModuleType | None
try:
    from kv_api.infrastructure import _jsonbatch as jsonbatch
except ImportError:  # pragma: no cover - only without a C compiler at install time
    jsonbatch = None

_encode = msgspec.msgpack.Encoder().encode


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


class MsgpackBatchEncoder:
    """The BatchEncoder of the Tarantool repository, checking pairs against `limits`."""

    def __init__(self, limits: BatchLimits, use_native: bool = True) -> None:
        self._limits = limits
        self._transcode = jsonbatch.transcode_pairs if jsonbatch and use_native else None

    def from_body(self, body: bytes) -> tuple[PreparedBatch, dict[str, Any]] | None:
        """None when the extension is missing or the body is anything but a clean write."""
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
        return PreparedBatch(keys, pairs), options

    def from_items(self, items: Mapping[str, JsonValue]) -> PreparedBatch:
        self._limits.check_items(items)
        keys = list(items)
        try:  # the whole batch at once: a few times faster than a checked loop per pair
            heads, values = list(map(_encode, keys)), list(map(_encode, items.values()))
        except (OverflowError, UnicodeEncodeError, RecursionError):
            return self._pack_naming_the_problem(items)
        if max(map(len, values), default=0) > self._limits.max_value_bytes:
            return self._pack_naming_the_problem(items)
        return PreparedBatch(keys, list(map(bytes.__add__, heads, values)))

    def _pack_naming_the_problem(self, items: Mapping[str, JsonValue]) -> PreparedBatch:
        pairs: list[bytes] = []
        for key, value in items.items():
            head = _encode_key(key)
            packed = encode_value(key, value)
            self._limits.check_encoded_size(key, len(packed))
            pairs.append(head + packed)
        return PreparedBatch(list(items), pairs)
