"""The read answer, refused once its JSON passes the response bound.

Storage caps what it hands over in stored (MessagePack) bytes, but the JSON can be six times
larger (a control character becomes `\\u0001`): encoding pair by pair stops at the bound
instead of building the whole answer first, so memory stays near the bound. That costs a
Python step per value, most of a small read's encoding, so an answer is first measured in
MessagePack (one C call): every MessagePack byte becomes at most six bytes of JSON (`\\u0001`
for a control character, `false,` for a one-byte false), and an answer under a sixth of the
bound that way is encoded whole, in one call.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import orjson
from aiohttp import web

from kv_api.presentation.http.problems import BadRequest

JSON_PER_MSGPACK_BYTE = 6
_measure = msgspec.msgpack.Encoder().encode


def _encode(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:  # lone surrogates, integers past 64 bits
        return json.dumps(value, ensure_ascii=True).encode("ascii")


def read_answer(
    found: Mapping[str, Any],
    not_found: Sequence[str],
    limit: int,
    meta: Mapping[str, Any] | None = None,
) -> web.Response:
    """`{"data": found, "not_found": not_found}` (and `"meta"` when given), or a 400 when its
    JSON is over `limit`."""
    answer: dict[str, Any] = {"data": found, "not_found": not_found}
    if meta is not None:
        answer["meta"] = meta
    try:
        if len(_measure(answer)) * JSON_PER_MSGPACK_BYTE <= limit:
            return web.Response(body=orjson.dumps(answer), content_type="application/json")
    except (TypeError, ValueError, OverflowError):
        pass  # lone surrogates, integers past 64 bits: the careful path below encodes them
    return _pair_by_pair(found, not_found, limit, meta)


def _pair_by_pair(
    found: Mapping[str, Any],
    not_found: Sequence[str],
    limit: int,
    meta: Mapping[str, Any] | None = None,
) -> web.Response:
    parts = [b'{"data":{']
    size = len(parts[0])
    for key, value in found.items():
        part = b"%s%s:%s" % (b"," if len(parts) > 1 else b"", _encode(key), _encode(value))
        size += len(part)
        if size > limit:
            raise _too_large(limit)
        parts.append(part)
    tail = b'},"not_found":%s' % _encode(list(not_found))
    if meta is not None:
        tail += b',"meta":%s' % _encode(meta)
    parts.append(tail + b"}")
    if size + len(parts[-1]) > limit:
        raise _too_large(limit)
    return web.Response(body=b"".join(parts), content_type="application/json")


def _too_large(limit: int) -> BadRequest:
    return BadRequest(
        "response_too_large",
        f"the answer would be larger than {limit} bytes of JSON; read fewer keys per request",
    )
