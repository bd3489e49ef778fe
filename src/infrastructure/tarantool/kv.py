from collections.abc import Sequence
from typing import Any

import msgpack

from kv_api.application.ports import KeyPage, PackedItems, Session, WriteOutcome
from kv_api.domain.errors import BatchTooLarge, InvalidKey
from kv_api.domain.keys import JsonValue, WriteMode
from kv_api.infrastructure.codec import native
from kv_api.infrastructure.tarantool.client import TarantoolClient

_packb = msgpack.Packer(autoreset=True, use_bin_type=True).pack


def _tuples(head: bytes, items: Sequence[tuple[str, bytes]]) -> list[bytes]:
    """[user_id, key, value] tuples as MessagePack, ready for box_replace."""
    if native is not None and isinstance(items, PackedItems):
        joined: list[bytes] | None = native.join_tuples(head, items.keys, items.values)
        if joined is not None:
            return joined
    tuples = []
    for key, packed in items:
        try:
            tuples.append(head + _packb(key) + packed)
        except UnicodeEncodeError as exc:
            raise InvalidKey(key, "is not valid Unicode") from exc
    return tuples


def _session_args(session: Session) -> list[Any]:
    return [session.user_id, session.token_version, session.token_id]


class TarantoolKeyValueRepository:
    """Each batch is one call of a Lua function that runs it in box.atomic."""

    def __init__(
        self,
        primary: TarantoolClient,
        replicas: Sequence[TarantoolClient] = (),
        max_read_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self._primary = primary
        self._replicas = list(replicas)
        self._max_read_bytes = max_read_bytes

    async def write(
        self, session: Session, items: Sequence[tuple[str, bytes]], mode: WriteMode
    ) -> WriteOutcome | None:
        tuples = _tuples(b"\x93" + _packb(session.user_id), items)
        insert_only = mode is WriteMode.INSERT
        args = [*_session_args(session), insert_only, tuples]
        result = await self._primary.call("kv_write", args)
        if result is None:
            return None
        written, skipped = result
        return WriteOutcome(written=int(written), skipped=[items[i - 1][0] for i in skipped])

    async def read(self, session: Session, keys: Sequence[str]) -> dict[str, JsonValue] | None:
        args = [*_session_args(session), list(keys), self._max_read_bytes]
        rows = await self._read_call("kv_read", args)
        if rows is None:
            return None
        if isinstance(rows, int):
            raise BatchTooLarge(
                f"the values of these keys add up to more than {self._max_read_bytes} bytes "
                "(the limit of one response); read fewer keys per request"
            )
        return {row[1]: row[2] for row in rows}

    async def delete(self, session: Session, keys: Sequence[str]) -> int | None:
        deleted = await self._primary.call("kv_delete", [*_session_args(session), list(keys)])
        return None if deleted is None else int(deleted)

    async def list_keys(
        self, session: Session, prefix: str, after: str | None, limit: int
    ) -> KeyPage | None:
        args = [*_session_args(session), prefix, after, limit]
        keys = await self._read_call("kv_keys", args)
        if keys is None:
            return None
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
