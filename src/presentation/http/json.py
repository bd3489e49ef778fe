import json
import math
from typing import Any

import orjson
from aiohttp import web

from kv_api.infrastructure.codec import native
from kv_api.presentation.http.problems import BadRequest

JSON = "application/json"
# orjson turns integers past 64 bits into floats (silently losing digits): a body with 20
# digits in a row, or a minus and 19, anywhere goes to the standard parser, which keeps them
# exact so that validation can name the offending key. False positives only cost speed.
# Masking every digit to "0" and searching with `in` is ten times faster than a regex.
_DIGIT_MASK = bytes(48 if 48 <= b <= 57 else 45 if b == 45 else 32 for b in range(256))
_TWENTY_DIGITS = b"0" * 20
_MINUS_NINETEEN_DIGITS = b"-" + b"0" * 19


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


def _may_hold_wide_integers(body: bytes) -> bool:
    if native is not None:  # one pass in C: a third of the cost of parsing a large batch
        found: bool = native.has_long_digit_run(body)
        return found
    masked = body.translate(_DIGIT_MASK)
    return _TWENTY_DIGITS in masked or _MINUS_NINETEEN_DIGITS in masked


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise BadRequest("empty_body", "the request body must be a JSON document")
    if _may_hold_wide_integers(body):
        return _parse_exact(body)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson also refuses lone surrogates and huge exponents; the standard parser takes
        # the former (validation then names the key) and explains the latter.
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
