"""Per-user quotas: how much of the store one account may hold, and the limits an operator
gives a user of its own.

Usage is the user's pairs as the store holds them: `keys` stored (an expired pair counts until
the purge removes it, within seconds) and `bytes`, the sum of their stored tuples' sizes as
Tarantool counts them (`tuple:bsize()`: owner, key, value, version and expiry, as MessagePack).
A change that would take either figure past its limit is refused whole; a change that makes a
figure smaller is always allowed, even above a limit an operator lowered.
"""

from dataclasses import dataclass
from enum import Enum

from kv_api.domain.errors import InvalidField

# Above these an own limit is refused as a typo: usage is counted in Lua numbers (doubles),
# exact to 2^53, and no store holds 2^40 pairs or a PiB.
MAX_KEYS_LIMIT = 2**40
MAX_BYTES_LIMIT = 2**50
DEFAULT_MAX_KEYS = 250_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
NEAR_PERCENT = 90  # the metrics' "near its quota"


class Own(Enum):
    """An own limit that is not a number: the server's default, or none at all."""

    DEFAULT = "default"
    UNLIMITED = "none"


OwnLimit = int | Own


@dataclass(frozen=True, slots=True)
class Usage:
    keys: int = 0
    bytes: int = 0


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits that apply; None is unlimited."""

    keys: int | None
    bytes: int | None


@dataclass(frozen=True, slots=True)
class OwnLimits:
    """What an operator set for one user (`kv-api user quota`)."""

    keys: OwnLimit = Own.DEFAULT
    bytes: OwnLimit = Own.DEFAULT

    def under(self, defaults: Limits) -> Limits:
        return Limits(_resolve(self.keys, defaults.keys), _resolve(self.bytes, defaults.bytes))


def _resolve(own: OwnLimit, default: int | None) -> int | None:
    if own is Own.DEFAULT:
        return default
    return None if own is Own.UNLIMITED else own


@dataclass(frozen=True, slots=True)
class Standing:
    """One user's usage and own limits, as stored."""

    usage: Usage = Usage()
    own: OwnLimits = OwnLimits()


@dataclass(frozen=True, slots=True)
class Quota:
    """One user's usage, own limits and the limits that apply to them."""

    usage: Usage
    own: OwnLimits
    limits: Limits


@dataclass(frozen=True, slots=True)
class NearQuota:
    """Users at a limit, and at the policy's near_percent of one or more (those at one too)."""

    at: int
    near: int


def passed(before: Usage, after: Usage, limits: Limits) -> list[str]:
    """The limits ("keys", "bytes") a change from `before` to `after` would pass: a figure that
    grows past its limit. The store applies this rule in the write's transaction."""
    found = []
    if limits.keys is not None and after.keys > before.keys and after.keys > limits.keys:
        found.append("keys")
    if limits.bytes is not None and after.bytes > before.bytes and after.bytes > limits.bytes:
        found.append("bytes")
    return found


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    """The server's defaults (KV_USER_MAX_KEYS, KV_USER_MAX_BYTES; None: unlimited)."""

    max_keys: int | None = DEFAULT_MAX_KEYS
    max_bytes: int | None = DEFAULT_MAX_BYTES
    near_percent: int = NEAR_PERCENT

    @property
    def defaults(self) -> Limits:
        return Limits(self.max_keys, self.max_bytes)

    def limits_of(self, own: OwnLimits) -> Limits:
        return own.under(self.defaults)

    def quota(self, standing: Standing) -> Quota:
        return Quota(standing.usage, standing.own, self.limits_of(standing.own))


def parse_own_limit(text: str, field: str) -> OwnLimit:
    """`N` (a whole number), `none` (unlimited) or `default`, as the quota command takes it."""
    word = text.strip().lower()
    for choice in Own:
        if word == choice.value:
            return choice
    high = MAX_KEYS_LIMIT if field == "keys" else MAX_BYTES_LIMIT
    rule = f"must be a whole number from 0 to {high}, 'none' (unlimited) or 'default'"
    if not word.isascii() or not word.isdigit() or len(word) > 20 or int(word) > high:
        raise InvalidField({field: [rule]})
    return int(word)
