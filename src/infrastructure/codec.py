"""Values are stored as native MessagePack; JSON types map one to one.

A batch is encoded by the C extension `_batchcodec` when it was built (setup.py; it needs a C
compiler at install time): one call checks and encodes all pairs, several times faster than
the Python loop below, which stays as the fallback and as the source of the exact errors.
"""

from collections.abc import Iterator, Mapping, Sequence
from types import ModuleType
from typing import overload

import msgpack

from domain.errors import InvalidValue
from domain.keys import BatchLimits, JsonValue

native: ModuleType | None
try:
    from infrastructure import _batchcodec as native
except ImportError:  # pragma: no cover - only without a C compiler at install time
    native = None


class PackedItems(Sequence[tuple[str, bytes]]):
    """(key, packed value) pairs kept as two lists: a batch of 1,000 pairs then allocates no
    tuple per pair, which the garbage collector would have to scan (it showed as a tenth of
    the CPU of write1000 in `make bench`)."""

    __slots__ = ("keys", "values")

    def __init__(self, keys: list[str], values: list[bytes]) -> None:
        if len(keys) != len(values):
            raise ValueError("keys and values differ in length")
        self.keys = keys
        self.values = values

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, index: int) -> tuple[str, bytes]: ...

    @overload
    def __getitem__(self, index: slice) -> "PackedItems": ...

    def __getitem__(self, index: int | slice) -> "tuple[str, bytes] | PackedItems":
        if isinstance(index, slice):
            return PackedItems(self.keys[index], self.values[index])
        return self.keys[index], self.values[index]

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        return zip(self.keys, self.values, strict=True)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedItems):
            return self.keys == other.keys and self.values == other.values
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PackedItems({list(self)!r})"


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

    def encode_items(self, items: Mapping[str, JsonValue], limits: BatchLimits) -> PackedItems:
        if self._native is not None and type(items) is dict:
            values: list[bytes] | None = self._native.encode_values(
                items, limits.max_key_bytes, limits.max_value_bytes, limits.max_depth
            )
            if values is not None:
                return PackedItems(list(items), values)
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
        return PackedItems(list(items), values)
