from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kv_api.application.ports import PreparedBatch, Session, WriteOptions


@dataclass(frozen=True, slots=True)
class WriteBatch:
    session: Session
    batch: PreparedBatch
    options: WriteOptions = field(default_factory=WriteOptions)


@dataclass(frozen=True, slots=True)
class ReadBatch:
    session: Session
    keys: Sequence[str]
    with_meta: bool = False  # each found pair's version and expiry too


@dataclass(frozen=True, slots=True)
class DeleteBatch:
    session: Session
    keys: Sequence[str]
    if_version: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ListKeys:
    session: Session
    prefix: str = ""
    after: str | None = None
    limit: int | None = None
