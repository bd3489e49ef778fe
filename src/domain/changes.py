"""A user's change feed: each change of a key, numbered by the user's revision, and the
bounds a watch is held to."""

from dataclasses import dataclass
from enum import StrEnum

from kv_api.domain.errors import InvalidField
from kv_api.domain.keys import JsonValue

MAX_PREFIX_BYTES = 1024  # the longest key


class ChangeOp(StrEnum):
    PUT = "put"
    DELETE = "delete"
    EXPIRE = "expire"


@dataclass(frozen=True, slots=True)
class Change:
    """One key's change. `value` is set (has_value) only when values were asked for and the
    put is still the key's current version; a stored value may itself be null."""

    key: str
    op: ChangeOp
    version: int
    revision: int
    value: JsonValue = None
    has_value: bool = False


@dataclass(frozen=True, slots=True)
class WatchLimits:
    default_limit: int = 100
    max_limit: int = 1000
    max_timeout: float = 60.0

    def limit(self, asked: int | None) -> int:
        if asked is None:
            return self.default_limit
        if asked < 1:
            raise InvalidField({"limit": ["must be at least 1"]})
        return min(asked, self.max_limit)

    def timeout(self, asked: float | None) -> float:
        """A longer wait than the server allows is cut to its bound, as Consul does."""
        if asked is None:
            return self.max_timeout
        if not asked >= 0:  # also refuses NaN
            raise InvalidField({"timeout": ["must be a number of seconds, at least 0"]})
        return min(asked, self.max_timeout)

    @staticmethod
    def check_since(since: int | None) -> None:
        if since is not None and since < 0:
            raise InvalidField({"since": ["must be a revision, at least 0"]})

    @staticmethod
    def check_prefix(prefix: str) -> None:
        if len(prefix.encode("utf-8", "surrogatepass")) > MAX_PREFIX_BYTES:
            raise InvalidField({"prefix": [f"must be at most {MAX_PREFIX_BYTES} bytes"]})
