"""Values are stored as native MessagePack; JSON types map one to one.

A batch is encoded by the C extension `_batchcodec` when it was built (setup.py; it needs a C
compiler at install time): one call checks and encodes all pairs, several times faster than
the Python loop below, which stays as the fallback and as the source of the exact errors.
"""

from collections.abc import Mapping, Sequence
from types import ModuleType

import msgpack

from domain.errors import InvalidValue
from domain.keys import BatchLimits, JsonValue

native: ModuleType | None
try:
    from infrastructure import _batchcodec as native
except ImportError:  # pragma: no cover - only without a C compiler at install time
    native = None


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
        self, items: Mapping[str, JsonValue], limits: BatchLimits
    ) -> Sequence[tuple[str, bytes]]:
        if self._native is not None and type(items) is dict:
            encoded: list[tuple[str, bytes]] | None = self._native.encode_items(
                items, limits.max_key_bytes, limits.max_value_bytes, limits.max_depth
            )
            if encoded is not None:
                return encoded
        # No extension, or it refused something: this names the first problem.
        return self._encode_checked(items, limits)

    def _encode_checked(
        self, items: Mapping[str, JsonValue], limits: BatchLimits
    ) -> list[tuple[str, bytes]]:
        limits.check_items(items)
        encoded: list[tuple[str, bytes]] = []
        for key, value in items.items():
            try:
                packed = self.encode(value)
            except ValueError as exc:
                raise InvalidValue(key, str(exc)) from exc
            limits.check_encoded_size(key, len(packed))
            encoded.append((key, packed))
        return encoded
