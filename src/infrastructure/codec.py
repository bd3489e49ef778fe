"""Values are stored as native MessagePack; JSON types map one to one.

A batch is encoded by the C extension `_batchcodec` when it was built (setup.py; it needs a C
compiler at install time): one call checks and encodes all pairs, several times faster than
the Python loop below, which stays as the fallback and as the source of the exact errors.
"""

from collections.abc import Mapping
from types import ModuleType

import msgpack

from kv_api.application.ports import PackedItems
from kv_api.domain.errors import InvalidValue
from kv_api.domain.keys import BatchLimits, JsonValue

native: ModuleType | None
jsonbatch: ModuleType | None
try:
    from kv_api.infrastructure import _batchcodec as native
except ImportError:  # pragma: no cover - only without a C compiler at install time
    native = None
try:
    from kv_api.infrastructure import _jsonbatch as jsonbatch
except ImportError:  # pragma: no cover - only without a C compiler at install time
    jsonbatch = None


class MsgpackValueEncoder:
    def __init__(self, use_native: bool = True) -> None:
        self._pack = msgpack.Packer(autoreset=True, use_bin_type=True).pack
        self._native = native if use_native else None

    def encode(self, value: JsonValue) -> bytes:
        try:
            packed: bytes = self._pack(value)  # already bytes: a bytes() copy cost 30% here
            return packed
        except OverflowError as exc:
            raise ValueError("integer outside the 64-bit range") from exc
        except UnicodeEncodeError as exc:
            raise ValueError("string is not valid Unicode") from exc

    def encode_items(
        self, items: Mapping[str, JsonValue] | PackedItems, limits: BatchLimits
    ) -> PackedItems:
        if isinstance(items, PackedItems):
            if items.checked_with == limits:
                return items  # packed from the request body by decode_write_body, same limits
            items = dict(zip(items.keys, map(msgpack.unpackb, items.values), strict=True))
        if self._native is not None and type(items) is dict:
            values: list[bytes] | None = self._native.encode_values(
                items, limits.max_key_bytes, limits.max_value_bytes, limits.max_depth
            )
            if values is not None:
                return PackedItems(list(items), values, limits)
        # No extension, or it refused something: this names the first problem.
        return self._encode_checked(items, limits)

    def _encode_checked(self, items: Mapping[str, JsonValue], limits: BatchLimits) -> PackedItems:
        limits.check_items(items)
        values: list[bytes] = []
        for key, value in items.items():
            try:
                packed = self.encode(value)
            except ValueError as exc:
                raise InvalidValue(key, str(exc)) from exc
            limits.check_encoded_size(key, len(packed))
            values.append(packed)
        return PackedItems(list(items), values, limits)


class WriteBodyDecoder:
    """A write request's body straight to packed items, checked against the limits, without
    a Python object per value (`_jsonbatch`: several times cheaper than parsing the JSON and
    then encoding it). None when the extension is missing or the body is anything but a
    clean write (malformed, duplicate names, unusual numbers...): the caller then parses it
    the usual way, which also names the problem."""

    def __init__(self, limits: BatchLimits, use_native: bool = True) -> None:
        self._limits = limits
        self._transcode = jsonbatch.transcode_write if jsonbatch and use_native else None

    def __call__(self, body: bytes) -> tuple[PackedItems, str | None] | None:
        if self._transcode is None:
            return None
        limits = self._limits
        found: tuple[list[str], list[bytes], str | None] | None = self._transcode(
            body, limits.max_items, limits.max_key_bytes, limits.max_value_bytes, limits.max_depth
        )
        if found is None:
            return None
        keys, values, mode = found
        return PackedItems(keys, values, limits), mode
