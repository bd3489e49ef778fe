from dataclasses import dataclass

from kv_api.application.kv.commands import DeleteBatch, ListKeys, ReadBatch, WriteBatch
from kv_api.application.ports import (
    DeleteOutcome,
    KeyPage,
    KeyValueRepository,
    WriteOptions,
    WriteOutcome,
)
from kv_api.domain.keys import BatchLimits, JsonValue, PairMeta


class WriteBatchHandler:
    """The pairs were checked when their batch was prepared; the options are checked here."""

    def __init__(self, repo: KeyValueRepository, limits: BatchLimits) -> None:
        self._repo = repo
        self._limits = limits

    async def __call__(self, command: WriteBatch) -> WriteOutcome:
        self._limits.check_batch_size(len(command.batch), "data")
        self._check_options(command.options)
        return await self._repo.write(command.session, command.batch, command.options)

    def _check_options(self, options: WriteOptions) -> None:
        limits = self._limits
        if options.ttl is not None:
            limits.check_ttl(None, options.ttl)
        if options.ttls:
            limits.check_batch_size(len(options.ttls), "ttls")
            limits.check_keys(options.ttls)
            for key, seconds in options.ttls.items():
                limits.check_ttl(key, seconds)
        if options.if_version:
            limits.check_versions(options.if_version)


@dataclass(frozen=True, slots=True)
class ReadResult:
    found: dict[str, JsonValue]
    not_found: list[str]
    meta: dict[str, PairMeta] | None = None  # when asked for


class ReadBatchHandler:
    def __init__(self, repo: KeyValueRepository, limits: BatchLimits) -> None:
        self._repo = repo
        self._limits = limits

    async def __call__(self, query: ReadBatch) -> ReadResult:
        keys = list(dict.fromkeys(query.keys))
        self._limits.check_batch_size(len(query.keys), "keys")
        self._limits.check_keys(keys)
        if query.with_meta:
            found, meta = await self._repo.read_with_meta(query.session, keys)
            return ReadResult(found, [k for k in keys if k not in found], meta)
        found = await self._repo.read(query.session, keys)
        return ReadResult(found=found, not_found=[k for k in keys if k not in found])


class DeleteBatchHandler:
    def __init__(self, repo: KeyValueRepository, limits: BatchLimits) -> None:
        self._repo = repo
        self._limits = limits

    async def __call__(self, command: DeleteBatch) -> DeleteOutcome:
        keys = list(dict.fromkeys(command.keys))
        self._limits.check_batch_size(len(command.keys), "keys")
        self._limits.check_keys(keys)
        if command.if_version:
            self._limits.check_versions(command.if_version)
        return await self._repo.delete(command.session, keys, command.if_version)


class ListKeysHandler:
    def __init__(self, repo: KeyValueRepository, limits: BatchLimits) -> None:
        self._repo = repo
        self._limits = limits

    async def __call__(self, query: ListKeys) -> KeyPage:
        self._limits.check_prefix(query.prefix)
        limit = self._limits.list_limit(query.limit)
        return await self._repo.list_keys(query.session, query.prefix, query.after, limit)
