from collections.abc import Mapping, Sequence
from typing import Any, cast

from kv_api.application.errors import QuotaExceeded, SessionExpired, VersionConflict
from kv_api.application.ports import (
    DeleteOutcome,
    ExpiryPurge,
    KeyPage,
    PreparedBatch,
    Session,
    WriteOptions,
    WriteOutcome,
)
from kv_api.domain.errors import BatchTooLarge
from kv_api.domain.keys import JsonValue, PairMeta, WriteMode
from kv_api.domain.quotas import Limits, QuotaPolicy, Usage
from kv_api.infrastructure.tarantool.client import TarantoolClient

_DEFAULT_QUOTA = QuotaPolicy().defaults


def _session_args(session: Session) -> list[Any]:
    return [session.user_id, session.token_version, session.token_id]


def _live(result: Any) -> Any:
    """The Lua functions answer nil (None) when the session is no longer valid."""
    if result is None:
        raise SessionExpired()
    return result


def _applied(result: Any) -> Any:
    """The write and delete functions answer ['conflict', {key: [expected, current]}] when an
    if_version did not hold, and kv_write ['quota', [keys, bytes, keys after, bytes after,
    max_keys, max_bytes]] when the batch would pass the writer's quota, having changed
    nothing."""
    result = _live(result)
    if result[0] == "conflict":
        conflicts = {str(key): (int(e), int(c)) for key, (e, c) in result[1].items()}
        raise VersionConflict(conflicts)
    if result[0] == "quota":
        keys, size, keys_after, size_after, max_keys, max_bytes = result[1]
        raise QuotaExceeded(
            Usage(int(keys), int(size)),
            Usage(int(keys_after), int(size_after)),
            Limits(max_keys, max_bytes),
        )
    return result


def _expected(if_version: Mapping[str, int]) -> list[list[Any]] | None:
    """Expected versions as the Lua functions take them: [keys, versions]."""
    return [list(if_version), list(if_version.values())] if if_version else None


def _meta(row: Any) -> PairMeta:
    """Pairs stored before versions existed have three fields: version 1, no expiry."""
    version = row[3] if len(row) > 3 and row[3] is not None else 1
    expires_at = row[4] if len(row) > 4 else None
    return PairMeta(version, None if expires_at is None else int(expires_at))


class TarantoolKeyValueRepository:
    """Each batch is one call of a Lua function that runs it in box.atomic. Batches to write
    come from MsgpackBatchEncoder (infrastructure/codec.py): each encoded entry is the
    MessagePack of the key then of the value, the tail of a stored tuple."""

    def __init__(
        self,
        primary: TarantoolClient,
        replicas: Sequence[TarantoolClient] = (),
        max_read_bytes: int = 32 * 1024 * 1024,
        history_keep: int = 100_000,
        quota: Limits = _DEFAULT_QUOTA,
    ) -> None:
        self._primary = primary
        self._replicas = list(replicas)
        self._max_read_bytes = max_read_bytes
        self._keep = history_keep  # changes kept in a user's change log
        # the server's default quota; kv_write applies a user's own limits instead, if set
        self._quota = [quota.keys, quota.bytes]

    async def write(
        self, session: Session, batch: PreparedBatch, options: WriteOptions
    ) -> WriteOutcome:
        # one string of every pair and each pair's length: the function builds the tuples
        pairs = cast(Sequence[bytes], batch.encoded)
        keys = batch.keys
        args = [
            *_session_args(session),
            options.mode is WriteMode.INSERT,
            list(map(len, pairs)),
            b"".join(pairs),
            options.ttl,
            dict(options.ttls) or None,
            _expected(options.if_version),
            self._keep,
            *self._quota,
        ]
        written, skipped, revision = _applied(await self._primary.call("kv_write_pairs", args))
        return WriteOutcome(int(written), [keys[i - 1] for i in skipped], int(revision))

    async def read(self, session: Session, keys: Sequence[str]) -> dict[str, JsonValue]:
        return {row[1]: row[2] for row in await self._read_rows(session, keys)}

    async def read_with_meta(
        self, session: Session, keys: Sequence[str]
    ) -> tuple[dict[str, JsonValue], dict[str, PairMeta]]:
        rows = await self._read_rows(session, keys)
        return {row[1]: row[2] for row in rows}, {row[1]: _meta(row) for row in rows}

    async def _read_rows(self, session: Session, keys: Sequence[str]) -> Any:
        args = [*_session_args(session), list(keys), self._max_read_bytes]
        rows = _live(await self._read_call("kv_read", args))
        if isinstance(rows, int):
            raise BatchTooLarge(
                f"the values of these keys add up to more than {self._max_read_bytes} bytes "
                "(the limit of one response); read fewer keys per request"
            )
        return rows

    async def delete(
        self, session: Session, keys: Sequence[str], if_version: Mapping[str, int]
    ) -> DeleteOutcome:
        args = [*_session_args(session), list(keys), _expected(if_version), self._keep]
        deleted, revision = _applied(await self._primary.call("kv_delete", args))
        return DeleteOutcome(int(deleted), int(revision))

    async def purge_expired(self, batch: int) -> ExpiryPurge:
        """One short transaction over up to `batch` due rows of the expiry schedule."""
        expired, handled = await self._primary.call("kv_purge_expired", [batch, self._keep])
        return ExpiryPurge(int(expired), more=int(handled) >= batch)

    async def list_keys(
        self, session: Session, prefix: str, after: str | None, limit: int
    ) -> KeyPage:
        args = [*_session_args(session), prefix, after, limit]
        keys = _live(await self._read_call("kv_keys", args))
        return KeyPage(keys=list(keys[:limit]), has_more=len(keys) > limit)

    async def _read_call(self, function: str, args: list[Any]) -> Any:
        for replica in self._replicas:
            if replica.connected:
                try:
                    result = await replica.call(function, args)
                except Exception:
                    continue
                if result is not None:
                    return result
        return await self._primary.call(function, args)
