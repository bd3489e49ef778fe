"""Batch key-value data: /api/write, /api/read, /api/delete and /api/keys. A write is prepared
by the BatchEncoder (straight from the body when it is a clean one), checked by the handler,
and stored by one call of the repository."""

import base64
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from kv_api.application.kv.commands import DeleteBatch, ListKeys, ReadBatch, WriteBatch
from kv_api.application.kv.handlers import (
    DeleteBatchHandler,
    ListKeysHandler,
    ReadBatchHandler,
    WriteBatchHandler,
)
from kv_api.application.ports import BatchEncoder, PreparedBatch, WriteOptions
from kv_api.domain.keys import PairMeta, WriteMode
from kv_api.presentation.http.auth import current_session
from kv_api.presentation.http.bounded_json import read_answer
from kv_api.presentation.http.json import json_response, parse_json, read_json
from kv_api.presentation.http.metrics import Metrics
from kv_api.presentation.http.problems import BadRequest
from kv_api.presentation.routes.contract import (
    BODY_ERRORS,
    JSON,
    SESSION_ERRORS,
    Operation,
    examples,
    operation,
)
from kv_api.presentation.routes.kv import schemas as s

TAG = "kv"
_USUAL = {mode.value: WriteOptions(mode) for mode in WriteMode}
_UPSERT = _USUAL[WriteMode.UPSERT.value]
_CURSOR = re.compile(s.CURSOR_PATTERN)
_write_options = s.WriteOptionsRequest()
_write = s.WriteRequest()
_THREE_KEYS = ("three keys", {"keys": ["key1", "key2", "key3"]})

# The usual bodies skip marshmallow's per-call machinery (a tenth of a small read's cost);
# anything else goes through the schema, which names the problem in the 400.


def usual_keys(body: Any) -> list[str] | None:
    """The keys of a body holding only a non-empty list of strings, else None."""
    if type(body) is dict and len(body) == 1:
        keys = body.get("keys")
        if type(keys) is list and keys and all(type(key) is str for key in keys):
            return keys
    return None


def write_options(members: dict[str, Any]) -> WriteOptions:
    """The options of a write from its body's members other than data."""
    if not members:
        return _UPSERT
    if len(members) == 1 and type(mode := members.get("mode")) is str and mode in _USUAL:
        return _USUAL[mode]
    return _options(_write_options.load(members))


def _options(loaded: dict[str, Any]) -> WriteOptions:
    return WriteOptions(
        loaded["mode"], loaded.get("ttl"), loaded.get("ttls", {}), loaded.get("if_version", {})
    )


def load_write(body: Any) -> tuple[dict[str, Any], WriteOptions]:
    """`WriteRequest().load(body)` as (data, options)."""
    if type(body) is dict and type(data := body.get("data")) is dict and data:
        members = {k: v for k, v in body.items() if k != "data"}
        if len(members) <= 1:
            return data, write_options(members)
    loaded = _write.load(body)
    return loaded["data"], _options(loaded)


def meta_answer(meta: dict[str, PairMeta], include: list[str]) -> dict[str, dict[str, Any]]:
    answer: dict[str, dict[str, Any]] = {}
    for key, pair in meta.items():
        item: dict[str, Any] = {}
        if "version" in include:
            item["version"] = pair.version
        if "expires_at" in include:
            at = pair.expires_at
            item["expires_at"] = None if at is None else _timestamp(at)
        answer[key] = item
    return answer


def _timestamp(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str | None:
    """The position a cursor names (None: the start). Any unpadded base64url that decodes is
    a position; bytes that are not UTF-8 are skipped, so every cursor the OpenAPI document
    allows is answered (docs/decisions/009-documented-cursors.md)."""
    if len(cursor) > s.CURSOR_MAX_LENGTH or not _CURSOR.fullmatch(cursor):
        raise BadRequest("invalid_cursor", "after must be a cursor returned in `next`")
    raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_")
    return raw.decode("utf-8", errors="ignore") or None


def single_values(request: web.Request) -> dict[str, str]:
    """The query as a dict; a parameter given twice is refused (dict() would keep one)."""
    if len(set(request.query)) != len(request.query):
        raise BadRequest("repeated_parameter", "each query parameter may be given only once")
    return dict(request.query)


class KeyValueEndpoints:
    def __init__(
        self,
        write: WriteBatchHandler,
        read: ReadBatchHandler,
        delete: DeleteBatchHandler,
        list_keys: ListKeysHandler,
        encoder: BatchEncoder,
        metrics: Metrics,
        max_response_bytes: int,
    ) -> None:
        self._write = write
        self._read = read
        self._delete = delete
        self._list = list_keys
        self._encoder = encoder
        self._metrics = metrics
        self._max_response_bytes = max_response_bytes
        self._read_schema = s.ReadRequest()
        self._delete_schema = s.DeleteRequest()
        self._list_schema = s.ListKeysQuery()

    @operation(
        Operation(
            "post",
            "/api/write",
            "write",
            "Write a batch of key-value pairs atomically",
            TAG,
            "the whole batch is stored",
            content=(JSON, s.WriteResponse),
            errors=(*BODY_ERRORS, *SESSION_ERRORS, 409, 507),
            body=s.WriteRequest,
            examples=examples(
                pairs=("a few pairs", {"data": {"key1": "value1", "key2": "value2", "key3": 1}}),
                nested=("any JSON value", {"data": {"profile": {"tags": ["a", "b"], "n": 1.5}}}),
                insert=("insert mode", {"data": {"key1": "kept if it exists"}, "mode": "insert"}),
                expiry=(
                    "expiring pairs: one hour, key2 one minute",
                    {
                        "data": {"key1": "value1", "key2": "value2"},
                        "ttl": 3600,
                        "ttls": {"key2": 60},
                    },
                ),
                conditional=(
                    "only if key1 is at version 3 and key2 does not exist (else 409)",
                    {
                        "data": {"key1": "new", "key2": "created"},
                        "if_version": {"key1": 3, "key2": 0},
                    },
                ),
            ),
        )
    )
    async def write(self, request: web.Request) -> web.Response:
        batch, options = self._prepared(await request.read())
        outcome = await self._write(WriteBatch(current_session(request), batch, options))
        self._metrics.write_batch.observe(len(batch))
        self._metrics.keys_written.inc(outcome.written)
        return json_response(
            {
                "status": "success",
                "written": outcome.written,
                "skipped": outcome.skipped,
                "revision": outcome.revision,
            }
        )

    def _prepared(self, body: bytes) -> tuple[PreparedBatch, WriteOptions]:
        decoded = self._encoder.from_body(body)
        if decoded is not None:
            return decoded[0], write_options(decoded[1])
        data, options = load_write(parse_json(body))
        return self._encoder.from_items(data), options

    @operation(
        Operation(
            "post",
            "/api/read",
            "read",
            "Read a batch of keys",
            TAG,
            "found pairs and missing keys",
            content=(JSON, s.ReadResponse),
            errors=(*BODY_ERRORS, *SESSION_ERRORS),
            body=s.ReadRequest,
            examples=examples(
                keys=_THREE_KEYS,
                meta=(
                    "with each pair's version and expiry",
                    {"keys": ["key1", "key2"], "include": ["version", "expires_at"]},
                ),
            ),
        )
    )
    async def read(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        session = current_session(request)
        keys = usual_keys(body)
        include: list[str] = []
        if keys is None:
            loaded = self._read_schema.load(body)
            keys, include = loaded["keys"], loaded.get("include") or []
        result = await self._read(ReadBatch(session, keys, bool(include)))
        self._metrics.read_batch.observe(len(keys))
        self._metrics.keys_read.inc(len(result.found))
        meta = meta_answer(result.meta, include) if result.meta is not None else None
        return read_answer(result.found, result.not_found, self._max_response_bytes, meta)

    @operation(
        Operation(
            "post",
            "/api/delete",
            "delete",
            "Delete a batch of keys atomically",
            TAG,
            "how many keys existed and are gone",
            content=(JSON, s.DeleteResponse),
            errors=(*BODY_ERRORS, *SESSION_ERRORS, 409),
            body=s.DeleteRequest,
            examples=examples(
                keys=_THREE_KEYS,
                conditional=(
                    "only if key1 is still at version 3 (else 409)",
                    {"keys": ["key1"], "if_version": {"key1": 3}},
                ),
            ),
        )
    )
    async def delete(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        session = current_session(request)
        keys = usual_keys(body)
        if keys is not None:
            command = DeleteBatch(session, keys)
        else:
            loaded = self._delete_schema.load(body)
            command = DeleteBatch(session, loaded["keys"], loaded.get("if_version", {}))
        outcome = await self._delete(command)
        self._metrics.delete_batch.observe(len(command.keys))
        self._metrics.keys_deleted.inc(outcome.deleted)
        return json_response(
            {"status": "success", "deleted": outcome.deleted, "revision": outcome.revision}
        )

    @operation(
        Operation(
            "get",
            "/api/keys",
            "listKeys",
            "List your keys in key order, page by page",
            TAG,
            "a page of keys",
            content=(JSON, s.KeyPageResponse),
            errors=(400, *SESSION_ERRORS),
            query=s.ListKeysQuery,
        )
    )
    async def list_keys(self, request: web.Request) -> web.Response:
        query = self._list_schema.load(single_values(request))
        after = decode_cursor(query["after"]) if query["after"] else None
        command = ListKeys(current_session(request), query["prefix"], after, query["limit"])
        page = await self._list(command)
        next_cursor = encode_cursor(page.keys[-1]) if page.has_more and page.keys else None
        return json_response({"keys": page.keys, "next": next_cursor})
