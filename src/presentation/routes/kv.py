import base64
import re
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
from kv_api.application.ports import CheckedPairs, WriteItems
from kv_api.domain.keys import WriteMode
from kv_api.presentation.container import Container
from kv_api.presentation.http.auth import current_session
from kv_api.presentation.http.bounded_json import read_answer
from kv_api.presentation.http.json import json_response, parse_json, read_json
from kv_api.presentation.http.problems import BadRequest
from kv_api.presentation.http.schemas import (
    CURSOR_MAX_LENGTH,
    CURSOR_PATTERN,
    KeysRequest,
    ListKeysQuery,
    WriteRequest,
)

routes = web.RouteTableDef()
_write = WriteRequest()
_keys = KeysRequest()
_list = ListKeysQuery()
_MODES = {mode.value: mode for mode in WriteMode}
_NO_MODE = object()
_CURSOR = re.compile(CURSOR_PATTERN)


class WriteBodyDecoder(Protocol):
    """The fast path of a write body: its checked pairs and its other members, or None to
    take the usual path (parse, schema, checks), which also names any problem."""

    def __call__(self, body: bytes) -> tuple[CheckedPairs, dict[str, Any]] | None: ...


# The usual bodies skip marshmallow's per-call machinery (a tenth of a small read's cost);
# anything else goes through the schema, which names the problem in the 400.


def load_keys(body: Any) -> list[str]:
    """`KeysRequest().load(body)["keys"]`."""
    if type(body) is dict:
        keys = body.get("keys")
        if type(keys) is list and keys and all(type(key) is str for key in keys):
            return keys
    loaded: list[str] = _keys.load(body)["keys"]
    return loaded


def usual_mode(options: dict[str, Any]) -> WriteMode | None:
    """The mode of a body whose other members are the usual ones, else None."""
    mode = options.get("mode", _NO_MODE)
    if mode is _NO_MODE:
        return WriteMode.UPSERT
    return _MODES.get(mode) if type(mode) is str else None


def load_write(body: Any) -> tuple[dict[str, Any], WriteMode]:
    """`WriteRequest().load(body)` as (data, mode)."""
    if type(body) is dict:
        data, mode = body.get("data"), usual_mode(body)
        if type(data) is dict and data and mode is not None:
            return data, mode
    loaded = _write.load(body)
    return loaded["data"], loaded["mode"]


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
    fast_mode = None if decoded is None else usual_mode(decoded[1])
    if decoded is not None and fast_mode is not None:
        items, mode = decoded[0], fast_mode
    else:
        items, mode = load_write(parse_json(body))
    outcome = await handler(WriteBatch(current_session(request), items, mode))
    return json_response(
        {"status": "success", "written": outcome.written, "skipped": outcome.skipped}
    )


@routes.post("/api/read")
@inject
async def read(
    request: web.Request,
    handler: ReadBatchHandler = Provide[Container.read_batch],
    max_response_bytes: int = Provide[Container.settings.provided.max_response_bytes],
) -> web.Response:
    keys = load_keys(await read_json(request))
    result = await handler(ReadBatch(current_session(request), keys))
    return read_answer(result.found, result.not_found, max_response_bytes)


@routes.post("/api/delete")
@inject
async def delete(
    request: web.Request, handler: DeleteBatchHandler = Provide[Container.delete_batch]
) -> web.Response:
    keys = load_keys(await read_json(request))
    deleted = await handler(DeleteBatch(current_session(request), keys))
    return json_response({"status": "success", "deleted": deleted})


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
