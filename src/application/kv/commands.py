from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kv_api.application.ports import PackedItems, Session
from kv_api.domain.keys import JsonValue, WriteMode


@dataclass(frozen=True, slots=True)
class WriteBatch:
    session: Session
    items: Mapping[str, JsonValue] | PackedItems
    mode: WriteMode = WriteMode.UPSERT


@dataclass(frozen=True, slots=True)
class ReadBatch:
    session: Session
    keys: Sequence[str]


@dataclass(frozen=True, slots=True)
class DeleteBatch:
    session: Session
    keys: Sequence[str]


@dataclass(frozen=True, slots=True)
class ListKeys:
    session: Session
    prefix: str = ""
    after: str | None = None
    limit: int | None = None
