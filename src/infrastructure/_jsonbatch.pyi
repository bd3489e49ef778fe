"""Type stub for the C extension infrastructure._jsonbatch (see _jsonbatch.c)."""

def transcode_pairs(
    body: bytes | bytearray | memoryview,
    max_items: int,
    max_key_bytes: int,
    max_value_bytes: int,
    max_depth: int,
) -> tuple[list[str], list[bytes], bytes | None] | None: ...
