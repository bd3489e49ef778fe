import json
from typing import Any

import orjson
from aiohttp import web

from presentation.http.problems import BadRequest

JSON = "application/json"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise BadRequest("empty_body", "the request body must be a JSON document")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses integers past 64 bits and lone surrogates; the standard parser takes
    # them so that validation can name the offending key instead of rejecting the body.
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("invalid_json", f"the request body is not valid JSON: {exc}") from None


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type=JSON, headers=headers)


async def read_json(request: web.Request) -> Any:
    return parse_json(await request.read())
