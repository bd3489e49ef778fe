import base64
import re
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web
from dependency_injector.wiring import Provide, inject

from kv_api.application.kv.commands import DeleteBatch, ListKeys, ReadBatch, WriteBatch
from kv_api.application.kv.handlers import (
    DeleteBatchHandler,
    ListKeysHandler,
    ReadBatchHandler,
    WriteBatchHandler,
)
from kv_api.application.ports import CheckedPairs, WriteItems, WriteOptions
from kv_api.domain.keys import PairMeta, WriteMode
from kv_api.presentation.container import Container
from kv_api.presentation.http.auth import current_session
from kv_api.presentation.http.bounded_json import read_answer
from kv_api.presentation.http.json import json_response, parse_json, read_json
from kv_api.presentation.http.problems import BadRequest
from kv_api.presentation.http.schemas import (
    CURSOR_MAX_LENGTH,
    CURSOR_PATTERN,
    DeleteRequest,
    ListKeysQuery,
    ReadRequest,
    WriteOptionsRequest,
    WriteRequest,
)

routes = web.RouteTableDef()
_write = WriteRequest()
_write_options = WriteOptionsRequest()
_read = ReadRequest()
_delete = DeleteRequest()
_list = ListKeysQuery()
_USUAL = {mode.value: WriteOptions(mode) for mode in WriteMode}
_UPSERT = _USUAL[WriteMode.UPSERT.value]
_CURSOR = re.compile(CURSOR_PATTERN)


class WriteBodyDecoder(Protocol):
    """The fast path of a write body: its checked pairs and its other members, or None to
    take the usual path (parse, schema, checks), which also names any problem."""

    def __call__(self, body: bytes) -> tuple[CheckedPairs, dict[str, Any]] | None: ...


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


@routes.post("/api/write")
@inject
async def write(
    request: web.Request,
    handler: WriteBatchHandler = Provide[Container.write_batch],
    decode: WriteBodyDecoder = Provide[Container.write_body],
) -> web.Response:
    body = await request.read()
    decoded = decode(body)
    items: WriteItems
    if decoded is not None:
        items, options = decoded[0], write_options(decoded[1])
    else:
        items, options = load_write(parse_json(body))
    outcome = await handler(WriteBatch(current_session(request), items, options))
    return json_response(
        {
            "status": "success",
            "written": outcome.written,
            "skipped": outcome.skipped,
            "revision": outcome.revision,
        }
    )


@routes.post("/api/read")
@inject
async def read(
    request: web.Request,
    handler: ReadBatchHandler = Provide[Container.read_batch],
    max_response_bytes: int = Provide[Container.settings.provided.max_response_bytes],
) -> web.Response:
    body = await read_json(request)
    keys = usual_keys(body)
    if keys is not None:
        result = await handler(ReadBatch(current_session(request), keys))
        return read_answer(result.found, result.not_found, max_response_bytes)
    loaded = _read.load(body)
    include = loaded.get("include") or []
    result = await handler(ReadBatch(current_session(request), loaded["keys"], bool(include)))
    meta = meta_answer(result.meta, include) if include and result.meta is not None else None
    return read_answer(result.found, result.not_found, max_response_bytes, meta)


@routes.post("/api/delete")
@inject
async def delete(
    request: web.Request, handler: DeleteBatchHandler = Provide[Container.delete_batch]
) -> web.Response:
    body = await read_json(request)
    keys = usual_keys(body)
    if keys is not None:
        command = DeleteBatch(current_session(request), keys)
    else:
        loaded = _delete.load(body)
        command = DeleteBatch(
            current_session(request), loaded["keys"], loaded.get("if_version", {})
        )
    outcome = await handler(command)
    return json_response(
        {"status": "success", "deleted": outcome.deleted, "revision": outcome.revision}
    )


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str | None:
    """The position a cursor names (None: the start). The query schema lets through only
    base64url that decodes; bytes that are not UTF-8 are skipped, so every cursor the OpenAPI
    document allows names a position and is answered."""
    if len(cursor) > CURSOR_MAX_LENGTH or not _CURSOR.fullmatch(cursor):
        raise BadRequest("invalid_cursor", "after must be a cursor returned in `next`")
    raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_")
    return raw.decode("utf-8", errors="ignore") or None


@routes.get("/api/keys")
@inject
async def list_keys(
    request: web.Request, handler: ListKeysHandler = Provide[Container.list_keys]
) -> web.Response:
    if len(set(request.query)) != len(request.query):  # dict() would keep one value silently
        raise BadRequest("repeated_parameter", "each query parameter may be given only once")
    query = _list.load(dict(request.query))
    after = decode_cursor(query["after"]) if query["after"] else None
    page = await handler(ListKeys(current_session(request), query["prefix"], after, query["limit"]))
    next_cursor = encode_cursor(page.keys[-1]) if page.has_more and page.keys else None
    return json_response({"keys": page.keys, "next": next_cursor})
