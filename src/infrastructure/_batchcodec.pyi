"""Type stub for the C extension infrastructure._batchcodec (see _batchcodec.c)."""

from typing import Any

def encode_values(
    items: dict[str, Any],
    max_key_bytes: int,
    max_value_bytes: int,
    max_depth: int,
) -> list[bytes] | None: ...
def join_tuples(head: bytes, keys: list[str], values: list[bytes]) -> list[bytes] | None: ...
def has_long_digit_run(data: bytes | bytearray | memoryview) -> bool: ...
