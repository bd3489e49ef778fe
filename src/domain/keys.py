from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kv_api.domain.errors import (
    BatchTooLarge,
    InvalidField,
    InvalidKey,
    InvalidTtl,
    InvalidValue,
    InvalidVersion,
)

JsonValue = Any
MAX_VERSION = 2**63 - 1  # versions travel as signed 64-bit integers
MAX_KEY_BYTES = 1024  # a key, and so the longest prefix worth asking for
DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT = 100, 1000  # keys per page of a listing


class WriteMode(StrEnum):
    UPSERT = "upsert"
    INSERT = "insert"


@dataclass(frozen=True, slots=True)
class PairMeta:
    """A stored pair's version (1 when created, +1 per overwrite) and expiry (Unix seconds)."""

    version: int
    expires_at: int | None


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """The one statement of the batch rules; the write body's C fast path is handed these
    numbers (infrastructure/codec.py) and leaves anything that breaks them to these checks."""

    max_items: int = 10_000
    max_key_bytes: int = MAX_KEY_BYTES
    max_value_bytes: int = 1024 * 1024
    max_depth: int = 64
    max_list_limit: int = MAX_LIST_LIMIT
    default_list_limit: int = DEFAULT_LIST_LIMIT
    min_ttl: int = 1
    max_ttl: int = 366 * 24 * 3600

    def check_ttl(self, key: str | None, seconds: int) -> None:
        """key: the key a TTL is for, None for the batch's own."""
        if not self.min_ttl <= seconds <= self.max_ttl:
            raise InvalidTtl(
                key, f"must be between {self.min_ttl} and {self.max_ttl} seconds, not {seconds}"
            )

    def check_versions(self, expected: Mapping[str, int]) -> None:
        self.check_keys(expected)
        if len(expected) > self.max_items:
            raise BatchTooLarge(f"too many if_version keys: {len(expected)} > {self.max_items}")
        for key, version in expected.items():
            if not 0 <= version <= MAX_VERSION:
                raise InvalidVersion(key, f"must be between 0 and {MAX_VERSION}, not {version}")

    def check_batch_size(self, count: int, what: str) -> None:
        if count == 0:
            raise BatchTooLarge(f"{what} must not be empty")
        if count > self.max_items:
            raise BatchTooLarge(f"too many {what}: {count} > {self.max_items} per request")

    def check_key(self, key: str) -> None:
        if not key:
            raise InvalidKey(key, "must not be empty")
        size = len(key) if key.isascii() else _utf8_len(key, "key")
        if size > self.max_key_bytes:
            raise InvalidKey(key, f"longer than {self.max_key_bytes} bytes of UTF-8")

    def check_prefix(self, prefix: str) -> None:
        check_prefix(prefix, self.max_key_bytes)

    def list_limit(self, asked: int | None) -> int:
        if asked is None:
            return self.default_list_limit
        if not 1 <= asked <= self.max_list_limit:
            raise InvalidField({"limit": [f"must be between 1 and {self.max_list_limit}"]})
        return asked

    def check_keys(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.check_key(key)

    def check_value(self, key: str, value: JsonValue) -> None:
        if _nesting_exceeds([value], self.max_depth):
            raise InvalidValue(key, f"nested deeper than {self.max_depth} levels")

    def check_encoded_size(self, key: str, size: int) -> None:
        if size > self.max_value_bytes:
            raise InvalidValue(
                key, f"{size} bytes encoded, over the limit of {self.max_value_bytes}"
            )

    def check_items(self, items: Mapping[str, JsonValue]) -> None:
        self.check_batch_size(len(items), "data")
        self.check_keys(items)
        # One pass over the whole batch; only a failing batch is walked again to name the key.
        if _nesting_exceeds(items.values(), self.max_depth):
            for key, value in items.items():
                self.check_value(key, value)


def check_prefix(prefix: str, max_bytes: int = MAX_KEY_BYTES) -> None:
    """A prefix longer than any key matches nothing: refused, naming the parameter."""
    if _utf8_len(prefix, "prefix") > max_bytes:
        raise InvalidField({"prefix": [f"must be at most {max_bytes} bytes of UTF-8"]})


def _utf8_len(text: str, what: str) -> int:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        if what == "key":
            raise InvalidKey(text, "is not valid Unicode") from exc
        raise InvalidField({what: ["must be valid Unicode text"]}) from exc


_CONTAINERS = (dict, list)


def _nesting_exceeds(values: Iterable[JsonValue], limit: int) -> bool:
    """Level by level over all values at once: a few times faster than a walk per value."""
    level = [value for value in values if isinstance(value, _CONTAINERS)]
    depth = 1
    while level:
        if depth > limit:
            return True
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, _CONTAINERS)
        ]
        depth += 1
    return False
