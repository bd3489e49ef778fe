from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, overload

from kv_api.domain.keys import BatchLimits, JsonValue, WriteMode
from kv_api.domain.users import Profile, User, UserId


@dataclass(frozen=True, slots=True)
class Session:
    """An authenticated caller: checked against storage in the same call as its work."""

    user_id: UserId
    token_version: int
    token_id: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class NewUser:
    username: str
    username_normalized: str
    password_hash: str
    profile: Profile
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ProfileChange:
    profile: Profile
    password_hash: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    written: int
    skipped: list[str]


@dataclass(frozen=True, slots=True)
class KeyPage:
    keys: list[str]
    has_more: bool


class UserRepository(Protocol):
    async def add(self, user: NewUser) -> User | None: ...

    async def by_username(self, username_normalized: str) -> User | None: ...

    async def by_session(self, session: Session) -> User | None: ...

    async def update(self, session: Session, change: ProfileChange) -> User | None: ...

    async def set_password_hash(self, user_id: UserId, password_hash: str) -> None: ...

    async def delete(self, session: Session) -> bool: ...

    async def delete_by_username(self, username_normalized: str) -> bool: ...

    async def list_usernames(self, limit: int) -> list[str]: ...


class TokenRevocations(Protocol):
    async def revoke(self, session: Session) -> bool: ...

    async def purge_expired(self, now: int) -> int: ...


class LoginThrottle(Protocol):
    async def attempt(self, scopes: Sequence[str], now: int) -> int:
        """Seconds to wait if any scope is over its limit; else 0, counting the attempt."""
        ...

    async def succeeded(self, reset_scope: str, other_scopes: Sequence[str]) -> None: ...


class PackedItems(Sequence[tuple[str, bytes]]):
    """A batch ready for storage: (key, encoded value) pairs, kept as two lists (1,000 pairs
    then allocate no tuple per pair for the garbage collector to scan: a tenth of the CPU of
    write1000 in `make bench`). `checked_with` names the limits every pair was checked
    against by whoever packed them (ValueEncoder.encode_items, or the encoder's decoding of
    a request body), None if unchecked."""

    __slots__ = ("checked_with", "keys", "values")

    def __init__(
        self, keys: list[str], values: list[bytes], checked_with: BatchLimits | None = None
    ) -> None:
        if len(keys) != len(values):
            raise ValueError("keys and values differ in length")
        self.keys = keys
        self.values = values
        self.checked_with = checked_with

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, index: int) -> tuple[str, bytes]: ...

    @overload
    def __getitem__(self, index: slice) -> "PackedItems": ...

    def __getitem__(self, index: int | slice) -> "tuple[str, bytes] | PackedItems":
        if isinstance(index, slice):
            return PackedItems(self.keys[index], self.values[index], self.checked_with)
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


class KeyValueRepository(Protocol):
    async def write(
        self, session: Session, items: Sequence[tuple[str, bytes]], mode: WriteMode
    ) -> WriteOutcome | None: ...

    async def read(self, session: Session, keys: Sequence[str]) -> dict[str, JsonValue] | None: ...

    async def delete(self, session: Session, keys: Sequence[str]) -> int | None: ...

    async def list_keys(
        self, session: Session, prefix: str, after: str | None, limit: int
    ) -> KeyPage | None: ...


class ValueEncoder(Protocol):
    def encode(self, value: JsonValue) -> bytes: ...

    def encode_items(
        self, items: Mapping[str, JsonValue] | PackedItems, limits: BatchLimits
    ) -> PackedItems:
        """Each (key, encoded value) in order, once every key and value has passed the limits'
        rules (BatchLimits.check_key, check_value, check_encoded_size), else the domain error
        for the first problem. Encoding walks every value anyway: checking in the same pass is
        what makes large batches cheap. Items packed and checked with these limits already
        are returned as they are."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool: ...

    async def verify_dummy(self, password: str) -> None: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class TokenIssuer(Protocol):
    def issue(self, user: User) -> IssuedToken: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
