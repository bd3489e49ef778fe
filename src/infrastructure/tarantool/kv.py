from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from kv_api.application.errors import SessionExpired
from kv_api.application.ports import KeyPage, Session, WriteItems, WriteOutcome
from kv_api.domain.errors import BatchTooLarge
from kv_api.domain.keys import BatchLimits, JsonValue, WriteMode
from kv_api.infrastructure.codec import MsgpackBatchCodec, PackedPairs
from kv_api.infrastructure.tarantool.client import TarantoolClient

_encode = msgspec.msgpack.Encoder().encode


def _session_args(session: Session) -> list[Any]:
    return [session.user_id, session.token_version, session.token_id]


def _live(result: Any) -> Any:
    """The Lua functions answer nil (None) when the session is no longer valid."""
    if result is None:
        raise SessionExpired()
    return result


class TarantoolKeyValueRepository:
    """Each batch is one call of a Lua function that runs it in box.atomic."""

    def __init__(
        self,
        primary: TarantoolClient,
        replicas: Sequence[TarantoolClient] = (),
        max_read_bytes: int = 16 * 1024 * 1024,
        limits: BatchLimits | None = None,
    ) -> None:
        self._codec = MsgpackBatchCodec(limits or BatchLimits())
        self._primary = primary
        self._replicas = list(replicas)
        self._max_read_bytes = max_read_bytes

    async def write(self, session: Session, items: WriteItems, mode: WriteMode) -> WriteOutcome:
        if isinstance(items, Mapping):
            items = self._codec.pack(items)
        if not isinstance(items, PackedPairs):
            raise TypeError(f"cannot store {type(items).__name__}")
        head = b"\x93" + _encode(session.user_id)  # the tuple [user_id, key, value]
        tuples = [head + pair for pair in items.pairs]
        args = [*_session_args(session), mode is WriteMode.INSERT, tuples]
        written, skipped = _live(await self._primary.call("kv_write", args))
        keys = items.keys
        return WriteOutcome(written=int(written), skipped=[keys[i - 1] for i in skipped])

    async def read(self, session: Session, keys: Sequence[str]) -> dict[str, JsonValue]:
        args = [*_session_args(session), list(keys), self._max_read_bytes]
        rows = _live(await self._read_call("kv_read", args))
        if isinstance(rows, int):
            raise BatchTooLarge(
                f"the values of these keys add up to more than {self._max_read_bytes} bytes "
                "(the limit of one response); read fewer keys per request"
            )
        return {row[1]: row[2] for row in rows}

    async def delete(self, session: Session, keys: Sequence[str]) -> int:
        args = [*_session_args(session), list(keys)]
        return int(_live(await self._primary.call("kv_delete", args)))

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
