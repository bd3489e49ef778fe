from collections.abc import Sequence
from dataclasses import dataclass

from kv_api.application.ports import Session, WriteItems
from kv_api.domain.keys import WriteMode


@dataclass(frozen=True, slots=True)
class WriteBatch:
    session: Session
    items: WriteItems
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
