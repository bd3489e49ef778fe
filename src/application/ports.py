from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from kv_api.domain.changes import Change
from kv_api.domain.keys import JsonValue, PairMeta, WriteMode
from kv_api.domain.quotas import Limits, NearQuota, OwnLimit, Standing
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
class WriteOptions:
    """How a batch is written. ttls (seconds per key) overrides ttl (seconds for every pair);
    no TTL clears an earlier expiry. if_version holds the expected version per key (0: must
    not exist); if any differs nothing is written and VersionConflict names them all."""

    mode: WriteMode = WriteMode.UPSERT
    ttl: int | None = None
    ttls: Mapping[str, int] = field(default_factory=dict)
    if_version: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    written: int
    skipped: list[str]
    revision: int


@dataclass(frozen=True, slots=True)
class DeleteOutcome:
    deleted: int
    revision: int


@dataclass(frozen=True, slots=True)
class ExpiryPurge:
    """One step of the expiry purge: the pairs it removed, and whether it stopped at its
    batch with more perhaps due."""

    expired: int
    more: bool


@dataclass(frozen=True, slots=True)
class KeyPage:
    keys: list[str]
    has_more: bool


class UserRepository(Protocol):
    """The methods taking a session raise SessionExpired when it is no longer valid."""

    async def add(self, user: NewUser) -> User | None:
        """None when the normalized username is taken."""
        ...

    async def by_username(self, username_normalized: str) -> User | None: ...

    async def by_session(self, session: Session) -> User: ...

    async def update(self, session: Session, change: ProfileChange) -> User: ...

    async def set_password_hash(self, user_id: UserId, password_hash: str) -> None: ...

    async def delete(self, session: Session) -> None: ...

    async def delete_by_username(self, username_normalized: str) -> bool: ...

    async def list_usernames(self, limit: int) -> list[str]: ...

    async def purge_deleted(self, batch: int) -> int:
        """Removes up to `batch` rows of deleted accounts' data in one short step (an account
        is gone at once; its data goes later); answers how many, 0 when none is left."""
        ...


class QuotaRepository(Protocol):
    """Each user's usage (kept by the store with every change of their keys) and own limits."""

    async def of_session(self, session: Session) -> tuple[User, Standing]:
        """Raises SessionExpired when the session is no longer valid."""
        ...

    async def of_user(self, username_normalized: str) -> tuple[str, Standing] | None:
        """The username as registered and its standing; None for an unknown user."""
        ...

    async def set_own(
        self, username_normalized: str, keys: OwnLimit | None, bytes_: OwnLimit | None
    ) -> tuple[str, Standing] | None:
        """Sets the own limits given (None: left as they are); answers as of_user, after."""
        ...

    async def count_near(self, defaults: Limits, near_percent: int) -> NearQuota: ...


class TokenRevocations(Protocol):
    async def revoke(self, session: Session) -> None:
        """Raises SessionExpired when the session is no longer valid."""
        ...

    async def purge_expired(self, now: int) -> int: ...


class AttemptCounter(Protocol):
    """Attempts counted per scope in fixed windows, shared by every API process: the failed
    logins' throttle and the registration limit."""

    async def attempt(self, scopes: Sequence[str], now: int) -> int:
        """Seconds to wait if any scope is over its limit; else 0, counting the attempt."""
        ...

    async def succeeded(self, reset_scope: str, other_scopes: Sequence[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """The pairs of a write, checked against the batch rules and encoded by a BatchEncoder for
    the repository it was made for. The application reads only the keys; `encoded` holds one
    entry per key, in a form only that repository reads."""

    keys: list[str]
    encoded: Sequence[object]

    def __len__(self) -> int:
        return len(self.keys)


class BatchEncoder(Protocol):
    """Makes the one batch type the repository takes: from a request body on the fast path,
    from parsed pairs otherwise. Both raise the domain's errors, naming the key at fault."""

    def from_body(self, body: bytes) -> tuple[PreparedBatch, dict[str, Any]] | None:
        """The pairs of a write body and its other top-level members, or None when the body
        needs the usual path (parse, schema, from_items), which also names any problem."""
        ...

    def from_items(self, items: Mapping[str, JsonValue]) -> PreparedBatch: ...


class KeyValueRepository(Protocol):
    """Every method raises SessionExpired when the session is no longer valid."""

    async def write(
        self, session: Session, batch: PreparedBatch, options: WriteOptions
    ) -> WriteOutcome:
        """Values the storage format cannot hold raise InvalidValue naming the key; a failed
        if_version raises VersionConflict and a batch that would pass the writer's quota
        QuotaExceeded, both writing nothing."""
        ...

    async def read(self, session: Session, keys: Sequence[str]) -> dict[str, JsonValue]:
        """The live pairs found: an expired pair is absent from the instant it expires."""
        ...

    async def read_with_meta(
        self, session: Session, keys: Sequence[str]
    ) -> tuple[dict[str, JsonValue], dict[str, PairMeta]]: ...

    async def delete(
        self, session: Session, keys: Sequence[str], if_version: Mapping[str, int]
    ) -> DeleteOutcome:
        """Expired pairs are not counted; a failed if_version deletes nothing."""
        ...

    async def list_keys(
        self, session: Session, prefix: str, after: str | None, limit: int
    ) -> KeyPage: ...

    async def purge_expired(self, batch: int) -> ExpiryPurge:
        """Removes expired pairs in one short step that handles at most `batch` of them."""
        ...


@dataclass(frozen=True, slots=True)
class WatchSpec:
    """since None: from the current revision (only changes made from now on)."""

    prefix: str
    since: int | None
    limit: int
    timeout: float
    with_values: bool = False
    offset: int = 0  # changes of the revision after `since` already received (a fragment)


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    """Whole revisions after `since`, oldest first; `revision` is the next `since`. `ended`:
    the session stopped being valid (logout, new password, account deleted) after these."""

    changes: list[Change]
    revision: int
    ended: bool = False
    # nonzero: the revision after `revision` continues (its fragment ends here); the next
    # call passes since=revision and this offset
    offset: int = 0


class Watcher(Protocol):
    """One open watch (a long poll or a stream), making one storage call at a time."""

    async def next(self, spec: WatchSpec) -> ChangeBatch:
        """Raises SessionExpired, HistoryCompacted (since is older than the kept history)."""
        ...


class ChangeFeed(Protocol):
    def watch(self, session: Session) -> AbstractContextManager[Watcher]:
        """A watch of the session's keys. Raises TooManyWatches when every slot is taken; a
        slot is given back once the watch is closed and its last storage call has returned
        (a call abandoned by its client still runs in the store until it answers)."""
        ...

    async def purge(self, before: float, batch: int) -> int:
        """Removes up to `batch` logged changes older than `before` (Unix seconds)."""
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
