"""A user's change feed: each change of a key, numbered by the user's revision, and the
bounds a watch is held to."""

from dataclasses import dataclass
from enum import StrEnum

from kv_api.domain.errors import InvalidField
from kv_api.domain.keys import JsonValue

MAX_REVISION = 2**63 - 1  # revisions travel as signed 64-bit integers
MAX_TIMEOUT = 3600.0  # the longest wait a request may ask for; the server's own bound cuts it
DEFAULT_WATCH_LIMIT, MAX_WATCH_LIMIT = 100, 1000  # changes per answer
MAX_OFFSET = 2**31  # a position inside one revision's changes
# A change's JSON is at most this many bytes per stored byte of it (a control character in a
# string becomes `\u0001`), counting CHANGE_OVERHEAD stored bytes for its other members: a
# feed answer held to its JSON bound is held to a sixth of it in stored bytes.
JSON_PER_STORED_BYTE = 6
CHANGE_OVERHEAD = 32


def stored_bound(json_bytes: int) -> int:
    """The stored bytes of changes whose JSON stays within `json_bytes`."""
    return json_bytes // JSON_PER_STORED_BYTE


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
    """The bounds of one watch call. A longer wait than the server allows is cut to its
    bound, as Consul does; every other number outside its bounds is refused."""

    default_limit: int = DEFAULT_WATCH_LIMIT
    max_limit: int = MAX_WATCH_LIMIT
    max_timeout: float = 60.0

    def limit(self, asked: int | None) -> int:
        if asked is None:
            return self.default_limit
        if not 1 <= asked <= self.max_limit:
            raise InvalidField({"limit": [f"must be between 1 and {self.max_limit}"]})
        return asked

    def timeout(self, asked: float | None) -> float:
        if asked is None:
            return self.max_timeout
        if not 0 <= asked <= MAX_TIMEOUT:  # also refuses NaN
            raise InvalidField({"timeout": [f"must be between 0 and {MAX_TIMEOUT} seconds"]})
        return min(asked, self.max_timeout)

    @staticmethod
    def check_since(since: int | None, offset: int = 0) -> None:
        if since is not None and not 0 <= since <= MAX_REVISION:
            raise InvalidField({"since": [f"must be a revision, from 0 to {MAX_REVISION}"]})
        if not 0 <= offset <= MAX_OFFSET:
            raise InvalidField({"offset": [f"must be a fragment's offset, from 0 to {MAX_OFFSET}"]})
