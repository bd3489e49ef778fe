from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.keys import BatchLimits, JsonValue, WriteMode
from domain.users import Profile, User, UserId


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
        self, items: Mapping[str, JsonValue], limits: BatchLimits
    ) -> Sequence[tuple[str, bytes]]:
        """Each (key, encoded value) in order, once every key and value has passed the limits'
        rules (BatchLimits.check_key, check_value, check_encoded_size), else the domain error
        for the first problem. Encoding walks every value anyway: checking in the same pass is
        what makes large batches cheap."""
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
