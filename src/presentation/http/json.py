import json
import math
from typing import Any

import msgspec
import orjson
from aiohttp import web

from kv_api.presentation.http.problems import BadRequest

JSON = "application/json"
_decode = msgspec.json.decode


class _NumberOutOfRange(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise _NumberOutOfRange(f"number {text[:40]} is beyond the range of a 64-bit float")
    return number


def _parse_exact(body: bytes) -> Any:
    try:
        # decoded here: json.loads would guess UTF-16 or UTF-32 from bytes, and JSON over
        # HTTP is UTF-8 only
        text = body.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except _NumberOutOfRange as exc:
        raise BadRequest("number_out_of_range", str(exc)) from None
    except RecursionError:
        raise BadRequest("too_deep", "the request body is nested too deeply") from None
    except ValueError as exc:
        raise BadRequest("invalid_json", f"the request body is not valid JSON: {exc}") from None


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise BadRequest("empty_body", "the request body must be a JSON document")
    try:
        return _decode(body)  # keeps integers of any size exact: validation names the key
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        # msgspec refuses lone surrogates and numbers past a float's range; the standard
        # parser takes the former (validation then names the key) and explains the latter.
        return _parse_exact(body)


def _dumps(data: Any) -> bytes:
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:
        # lone surrogates (echoed back in an error) and integers past 64 bits
        return json.dumps(data, ensure_ascii=True).encode("ascii")


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(body=_dumps(data), status=status, content_type=JSON, headers=headers)


async def read_json(request: web.Request) -> Any:
    return parse_json(await request.read())
