"""In-memory stand-ins for every port in application.ports; they mirror the Lua functions."""

import asyncio
import contextlib
import copy
import itertools
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from kv_api.application.errors import QuotaExceeded, SessionExpired, VersionConflict
from kv_api.application.ports import (
    DeleteOutcome,
    ExpiryPurge,
    IssuedToken,
    KeyPage,
    NewUser,
    PreparedBatch,
    ProfileChange,
    Session,
    WriteOptions,
    WriteOutcome,
)
from kv_api.application.users.commands import GetProfile
from kv_api.application.users.profile import Account, GetProfileHandler
from kv_api.domain.changes import Change, ChangeOp
from kv_api.domain.errors import InvalidValue
from kv_api.domain.keys import BatchLimits, JsonValue, PairMeta, WriteMode
from kv_api.domain.quotas import (
    Limits,
    NearQuota,
    OwnLimit,
    OwnLimits,
    QuotaPolicy,
    Standing,
    Usage,
    passed,
)
from kv_api.domain.users import Profile, User, UserId

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeDatabase:
    """State shared by the fake repositories, as one Tarantool instance is in production."""

    users: dict[UserId, User] = field(default_factory=dict)
    revoked: dict[str, int] = field(default_factory=dict)
    data: dict[UserId, dict[str, "StoredPair"]] = field(default_factory=dict)
    revisions: dict[UserId, int] = field(default_factory=dict)
    changes: dict[UserId, list[Change]] = field(default_factory=dict)
    compacted: dict[UserId, int] = field(default_factory=dict)  # newest revision purged
    deleted: list[UserId] = field(default_factory=list)  # accounts whose data is still here
    usage: dict[UserId, Usage] = field(default_factory=dict)
    own: dict[UserId, OwnLimits] = field(default_factory=dict)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    now: Callable[[], float] = time.time  # expiry is judged by the store's own clock
    _wakers: dict[UserId, asyncio.Event] = field(default_factory=dict)

    def session_user(self, session: Session) -> User | None:
        user = self.users.get(session.user_id)
        if user is None or user.token_version != session.token_version:
            return None
        if session.token_id in self.revoked:
            return None
        return user

    def live_user(self, session: Session) -> User:
        user = self.session_user(session)
        if user is None:
            raise SessionExpired()
        return user

    def by_normalized(self, username_normalized: str) -> User | None:
        for user in self.users.values():
            if user.username.casefold() == username_normalized:
                return user
        return None

    def remove_user(self, user_id: UserId) -> None:
        """As the store deletes an account: gone at once, its usage forgotten, its data left
        to `purge_deleted`."""
        self.usage.pop(user_id, None)
        self.own.pop(user_id, None)
        del self.users[user_id]
        self.deleted.append(user_id)
        self.wake(user_id)

    def purge_deleted(self, batch: int) -> int:
        """Up to `batch` rows of the first deleted account's data, as kv_purge_deleted_accounts
        counts them (pairs, then logged changes, then one for its bookkeeping)."""
        if not self.deleted:
            return 0
        user_id = self.deleted[0]
        space, log = self.data.get(user_id, {}), self.changes.get(user_id, [])
        pairs = list(space)[:batch]
        for key in pairs:
            del space[key]
        changes = log[: batch - len(pairs)]
        del log[: len(changes)]
        finished = len(pairs) + len(changes) < batch
        if finished:
            self.data.pop(user_id, None)
            self.changes.pop(user_id, None)
            self.revisions.pop(user_id, None)
            self.deleted.pop(0)
        return len(pairs) + len(changes) + finished

    def standing(self, user_id: UserId) -> Standing:
        return Standing(self.usage.get(user_id, Usage()), self.own.get(user_id, OwnLimits()))

    def charge(
        self,
        user_id: UserId,
        space: Mapping[str, "StoredPair"],
        planned: Mapping[str, "StoredPair"],
        defaults: Limits,
    ) -> None:
        """As kv_write counts a batch: QuotaExceeded when a figure that grows would pass its
        limit, else the user's usage moves on."""
        before = self.usage.get(user_id, Usage())
        added = sum(1 for key in planned if key not in space)
        grown = sum(stored_size(user_id, key, pair) for key, pair in planned.items()) - sum(
            stored_size(user_id, key, space[key]) for key in planned if key in space
        )
        after = Usage(before.keys + added, before.bytes + grown)
        limits = self.own.get(user_id, OwnLimits()).under(defaults)
        if passed(before, after, limits):
            raise QuotaExceeded(before, after, limits)
        self.usage[user_id] = after

    def give_back(self, user_id: UserId, removed: Mapping[str, "StoredPair"]) -> None:
        """As deletes and the purge give usage back; nothing for a user without usage."""
        before = self.usage.get(user_id)
        if before is None or not removed:
            return
        size = sum(stored_size(user_id, key, pair) for key, pair in removed.items())
        self.usage[user_id] = Usage(before.keys - len(removed), before.bytes - size)

    def record(self, user_id: UserId, entries: Sequence[tuple[str, ChangeOp, int]]) -> int:
        """Logs the entries under the user's next revision (none: the revision stays)."""
        if entries:
            revision = self.revisions.get(user_id, 0) + 1
            self.revisions[user_id] = revision
            log = self.changes.setdefault(user_id, [])
            log += [Change(key, op, version, revision) for key, op, version in entries]
            self.wake(user_id)
        return self.revisions.get(user_id, 0)

    def wake(self, user_id: UserId) -> None:
        waker = self._wakers.pop(user_id, None)
        if waker is not None:
            waker.set()

    async def changed(self, user_id: UserId, timeout: float) -> None:
        """Returns when the user's keys or session change, or after `timeout` seconds."""
        waker = self._wakers.setdefault(user_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waker.wait(), timeout)


class FakeUserRepository:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db
        self.rehashed: list[tuple[UserId, str]] = []

    async def add(self, user: NewUser) -> User | None:
        if self._db.by_normalized(user.username_normalized) is not None:
            return None
        created = User(
            id=next(self._db.ids),
            username=user.username,
            password_hash=user.password_hash,
            profile=user.profile,
            created_at=user.created_at,
            updated_at=user.created_at,
        )
        self._db.users[created.id] = created
        return created

    async def by_username(self, username_normalized: str) -> User | None:
        return self._db.by_normalized(username_normalized)

    async def by_session(self, session: Session) -> User:
        return self._db.live_user(session)

    async def update(self, session: Session, change: ProfileChange) -> User:
        user = self._db.live_user(session)
        updated = user.with_profile(change.profile, change.updated_at)
        if change.password_hash is not None:
            updated = replace(
                updated,
                password_hash=change.password_hash,
                token_version=user.token_version + 1,
            )
        self._db.users[user.id] = updated
        if change.password_hash is not None:
            self._db.wake(user.id)  # the watches of its earlier tokens end
        return updated

    async def set_password_hash(self, user_id: UserId, password_hash: str) -> None:
        self.rehashed.append((user_id, password_hash))
        user = self._db.users[user_id]
        self._db.users[user_id] = replace(user, password_hash=password_hash)

    async def delete(self, session: Session) -> None:
        self._db.remove_user(self._db.live_user(session).id)

    async def delete_by_username(self, username_normalized: str) -> bool:
        user = self._db.by_normalized(username_normalized)
        if user is None:
            return False
        self._db.remove_user(user.id)
        return True

    async def list_usernames(self, limit: int) -> list[str]:
        names = sorted(self._db.users.values(), key=lambda u: u.username.casefold())
        return [u.username for u in names[:limit]]

    async def purge_deleted(self, batch: int) -> int:
        return self._db.purge_deleted(batch)


class FakeTokenRevocations:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    async def revoke(self, session: Session) -> None:
        self._db.live_user(session)
        self._db.revoked[session.token_id] = session.expires_at
        self._db.wake(session.user_id)

    async def purge_expired(self, now: int) -> int:
        expired = [jti for jti, expires_at in self._db.revoked.items() if expires_at <= now]
        for jti in expired:
            del self._db.revoked[jti]
        return len(expired)


@dataclass
class _Failures:
    first_at: int
    count: int


class FakeAttemptCounter:
    """Fixed window per scope, like kv_login_attempt / kv_login_succeeded."""

    def __init__(self, max_failures: int = 3, window: int = 900) -> None:
        self.max_failures = max_failures
        self.window = window
        self.failures: dict[str, _Failures] = {}
        self.resets: list[str] = []

    async def attempt(self, scopes: Sequence[str], now: int) -> int:
        """Like kv_login_attempt: check, and count the attempt as a failure when it may go on."""
        wait = 0
        for scope in scopes:
            entry = self.failures.get(scope)
            if entry and now - entry.first_at < self.window and entry.count >= self.max_failures:
                wait = max(wait, entry.first_at + self.window - now)
        if wait:
            return wait
        for scope in scopes:
            entry = self.failures.get(scope)
            if entry is None or now - entry.first_at >= self.window:
                self.failures[scope] = _Failures(first_at=now, count=1)
            else:
                entry.count += 1
        return 0

    async def succeeded(self, reset_scope: str, other_scopes: Sequence[str]) -> None:
        """Like kv_login_succeeded: the scope starts afresh, the others forgive one failure."""
        self.resets.append(reset_scope)
        self.failures.pop(reset_scope, None)
        for scope in other_scopes:
            entry = self.failures.get(scope)
            if entry is not None and entry.count > 0:
                entry.count -= 1


@dataclass
class StoredPair:
    value: JsonValue
    version: int
    expires_at: int | None

    def live(self, now: float) -> bool:
        return self.expires_at is None or self.expires_at > now


def stored_size(user_id: UserId, key: str, pair: StoredPair) -> int:
    """The stored tuple's size as Tarantool counts it (bsize): [owner, key, value, version,
    expires_at] as MessagePack."""
    return len(msgspec.msgpack.encode([user_id, key, pair.value, pair.version, pair.expires_at]))


class FakeBatchEncoder:
    """Prepares batches for the fake repository: the values themselves, checked as the real
    encoder checks them (the domain's rules, the encoded size)."""

    def __init__(self, limits: BatchLimits | None = None) -> None:
        self.limits = limits or BatchLimits()

    def from_body(self, body: bytes) -> tuple[PreparedBatch, dict[str, Any]] | None:
        return None

    def from_items(self, items: Mapping[str, JsonValue]) -> PreparedBatch:
        self.limits.check_items(items)
        for key, value in items.items():
            try:
                size = len(msgspec.msgpack.encode(value))
            except OverflowError:
                raise InvalidValue(key, "integer outside the 64-bit range") from None
            self.limits.check_encoded_size(key, size)
        return PreparedBatch(list(items), [copy.deepcopy(v) for v in items.values()])


class FakeKeyValueRepository:
    """Stores a copy of each value, as Tarantool stores its own encoding of it; versions,
    expiry, conditions and revisions follow the Lua functions (kv.lua)."""

    def __init__(self, db: FakeDatabase, quota: Limits | None = None) -> None:
        self._db = db
        self._quota = quota or QuotaPolicy().defaults
        self.written: list[list[tuple[str, JsonValue]]] = []
        self.read_requests: list[list[str]] = []
        self.delete_requests: list[list[str]] = []
        self.list_requests: list[tuple[str, str | None, int]] = []

    def _space(self, session: Session) -> dict[str, StoredPair]:
        self._db.live_user(session)
        return self._db.data.setdefault(session.user_id, {})

    def _check(self, space: dict[str, StoredPair], expected: Mapping[str, int]) -> None:
        now = self._db.now()
        conflicts = {}
        for key, want in expected.items():
            pair = space.get(key)
            current = pair.version if pair is not None and pair.live(now) else 0
            if current != want:
                conflicts[key] = (want, current)
        if conflicts:
            raise VersionConflict(conflicts)

    async def write(
        self, session: Session, batch: PreparedBatch, options: WriteOptions
    ) -> WriteOutcome:
        items = dict(zip(batch.keys, batch.encoded, strict=True))
        space = self._space(session)
        self._check(space, options.if_version)
        now = self._db.now()
        skipped, entries, planned = [], [], {}
        for key, value in items.items():
            old = space.get(key)
            live = old is not None and old.live(now)
            if live and options.mode is WriteMode.INSERT:
                skipped.append(key)
                continue
            if old is not None and not live:
                entries.append((key, ChangeOp.EXPIRE, old.version))
            seconds = options.ttls.get(key, options.ttl)
            expires_at = None if seconds is None else math.ceil(now + seconds)
            version = old.version + 1 if old is not None and live else 1
            planned[key] = StoredPair(copy.deepcopy(value), version, expires_at)
            entries.append((key, ChangeOp.PUT, version))
        self._db.charge(session.user_id, space, planned, self._quota)
        self.written.append(list(items.items()))
        space.update(planned)
        revision = self._db.record(session.user_id, entries)
        return WriteOutcome(len(items) - len(skipped), skipped, revision)

    def _live_pairs(self, session: Session, keys: Sequence[str]) -> dict[str, StoredPair]:
        space, now = self._space(session), self._db.now()
        return {k: space[k] for k in keys if k in space and space[k].live(now)}

    async def read(self, session: Session, keys: Sequence[str]) -> dict[str, JsonValue]:
        found = self._live_pairs(session, keys)
        self.read_requests.append(list(keys))
        return {key: copy.deepcopy(pair.value) for key, pair in found.items()}

    async def read_with_meta(
        self, session: Session, keys: Sequence[str]
    ) -> tuple[dict[str, JsonValue], dict[str, PairMeta]]:
        found = self._live_pairs(session, keys)
        self.read_requests.append(list(keys))
        values = {key: copy.deepcopy(pair.value) for key, pair in found.items()}
        return values, {k: PairMeta(p.version, p.expires_at) for k, p in found.items()}

    async def delete(
        self, session: Session, keys: Sequence[str], if_version: Mapping[str, int]
    ) -> DeleteOutcome:
        space = self._space(session)
        self._check(space, if_version)
        self.delete_requests.append(list(keys))
        now, deleted, entries, removed = self._db.now(), 0, [], {}
        for key in keys:
            pair = space.pop(key, None)
            if pair is not None:
                removed[key] = pair
                live = pair.live(now)
                deleted += live
                entries.append((key, ChangeOp.DELETE if live else ChangeOp.EXPIRE, pair.version))
        self._db.give_back(session.user_id, removed)
        return DeleteOutcome(deleted, self._db.record(session.user_id, entries))

    async def list_keys(
        self, session: Session, prefix: str, after: str | None, limit: int
    ) -> KeyPage:
        space, now = self._space(session), self._db.now()
        self.list_requests.append((prefix, after, limit))
        keys = sorted(
            k
            for k, pair in space.items()
            if k.startswith(prefix) and (after is None or k > after) and pair.live(now)
        )
        return KeyPage(keys=keys[:limit], has_more=len(keys) > limit)

    async def purge_expired(self, batch: int) -> ExpiryPurge:
        now, purged, more = self._db.now(), 0, False
        for user_id, space in self._db.data.items():
            expired = [k for k, pair in space.items() if not pair.live(now)]
            doomed = expired[: batch - purged]
            more = more or len(doomed) < len(expired)
            removed = {key: space.pop(key) for key in doomed}
            ended = [(key, ChangeOp.EXPIRE, pair.version) for key, pair in removed.items()]
            purged += len(doomed)
            self._db.give_back(user_id, removed)
            self._db.record(user_id, ended)
        return ExpiryPurge(purged, more)


class FakeQuotaRepository:
    """Like lua/quotas.lua: own limits kept per user, usage as the fake store counts it."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    async def of_session(self, session: Session) -> tuple[User, Standing]:
        user = self._db.live_user(session)
        return user, self._db.standing(user.id)

    async def of_user(self, username_normalized: str) -> tuple[str, Standing] | None:
        user = self._db.by_normalized(username_normalized)
        return None if user is None else (user.username, self._db.standing(user.id))

    async def set_own(
        self, username_normalized: str, keys: OwnLimit | None, bytes_: OwnLimit | None
    ) -> tuple[str, Standing] | None:
        user = self._db.by_normalized(username_normalized)
        if user is None:
            return None
        own = self._db.own.get(user.id, OwnLimits())
        self._db.own[user.id] = OwnLimits(
            own.keys if keys is None else keys, own.bytes if bytes_ is None else bytes_
        )
        return user.username, self._db.standing(user.id)

    async def count_near(self, defaults: Limits, near_percent: int) -> NearQuota:
        """Users with a row (a write or own limits), as the store keeps them."""
        at = near = 0
        for user_id in self._db.users.keys() & (self._db.usage.keys() | self._db.own.keys()):
            standing = self._db.standing(user_id)
            limits = standing.own.under(defaults)
            figures = [
                (used, limit)
                for used, limit in (
                    (standing.usage.keys, limits.keys),
                    (standing.usage.bytes, limits.bytes),
                )
                if limit is not None
            ]
            at += any(used >= limit for used, limit in figures)
            near += any(used * 100 >= limit * near_percent for used, limit in figures)
        return NearQuota(at, near)


class FakePasswordHasher:
    """Reversible: `fake$<cost>$<password>`; a hash made with another cost needs a rehash."""

    def __init__(self, cost: int = 1) -> None:
        self.cost = cost
        self.hashed: list[str] = []
        self.verified: list[str] = []
        self.dummy_verified: list[str] = []

    async def hash(self, password: str) -> str:
        self.hashed.append(password)
        return f"fake${self.cost}${password}"

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verified.append(password)
        scheme, _, rest = password_hash.partition("$")
        _, _, stored = rest.partition("$")
        return scheme == "fake" and stored == password

    async def verify_dummy(self, password: str) -> None:
        self.dummy_verified.append(password)

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(f"fake${self.cost}$")


class FakeTokenIssuer:
    def __init__(self, ttl: int = 1800) -> None:
        self.ttl = ttl
        self.issued: list[User] = []

    def issue(self, user: User) -> IssuedToken:
        self.issued.append(user)
        token = f"token-{user.id}-v{user.token_version}-{len(self.issued)}"
        return IssuedToken(token=token, expires_in=self.ttl)


class FakeClock:
    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def session_of(user: User, token_id: str = "jti-1") -> Session:
    """What a client holding a token issued for `user` in its current state presents."""
    expires_at = int(START.timestamp()) + 1800
    return Session(user.id, user.token_version, token_id, expires_at)


@dataclass
class FakeWorld:
    """Every port wired to one FakeDatabase, plus helpers to arrange state directly."""

    db: FakeDatabase = field(default_factory=FakeDatabase)
    hasher: FakePasswordHasher = field(default_factory=FakePasswordHasher)
    tokens: FakeTokenIssuer = field(default_factory=FakeTokenIssuer)
    throttle: FakeAttemptCounter = field(default_factory=FakeAttemptCounter)
    clock: FakeClock = field(default_factory=FakeClock)

    def __post_init__(self) -> None:
        self.users = FakeUserRepository(self.db)
        self.revocations = FakeTokenRevocations(self.db)
        self.kv = FakeKeyValueRepository(self.db)
        self.quotas = FakeQuotaRepository(self.db)
        self.encoder = FakeBatchEncoder()

    async def add_user(self, username: str, password: str = "password-1") -> User:
        new_user = NewUser(
            username=username,
            username_normalized=username.casefold(),
            password_hash=await self.hasher.hash(password),
            profile=Profile(),
            created_at=self.clock.now(),
        )
        user = await self.users.add(new_user)
        assert user is not None
        return user

    def user(self, user_id: UserId) -> User:
        return self.db.users[user_id]

    async def get_profile(self, query: GetProfile) -> Account:
        return await GetProfileHandler(self.quotas, QuotaPolicy())(query)
