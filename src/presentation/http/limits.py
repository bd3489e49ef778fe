"""Refusals that must come before routing, middleware and the body: a declared length over
the limit (before `100 Continue` is sent), an unknown expectation, a compressed body.

Compressed request bodies are refused, never inflated (docs/decisions/006-*):
aiohttp inflates on the event loop, and a 1 MB gzip body inflating to 1 GiB stalled every
other request for seconds. Only the first two bytes are looked at, to tell a malformed gzip or
deflate body (400) from a well-formed one the server does not take (415)."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter

from aiohttp import hdrs, web

from kv_api.presentation.http.errors import error_response

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
Refused = Callable[[web.BaseRequest, web.StreamResponse, float], web.StreamResponse]
_INFLATABLE = {"gzip", "x-gzip", "deflate"}


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    max_body_bytes: int
    header_timeout: float
    body_timeout: float
    keepalive_timeout: float
    max_connections: int
    max_header_bytes: int


def guard(handler: Handler, limits: EdgeLimits, refused: Refused | None = None) -> Handler:
    """`handler` behind the refusals above; `refused` finishes a refusal as the app finishes
    its own answers (request id, headers, metrics, access log: edge.pre_routing_answers)."""
    max_body_bytes = limits.max_body_bytes

    async def guarded(request: web.BaseRequest) -> web.StreamResponse:
        # most requests carry neither header and fit: a few lookups settle that
        headers = request.headers
        if (
            hdrs.EXPECT in headers
            or hdrs.CONTENT_ENCODING in headers
            or _too_long(request, max_body_bytes)
        ):
            started = perf_counter()
            refusal = await early_refusal(request, max_body_bytes)
            if refusal is not None:
                return refusal if refused is None else refused(request, refusal, started)
        return await handler(request)

    return guarded


def _too_long(request: web.BaseRequest, max_body_bytes: int) -> bool:
    length = request.content_length
    return length is not None and length > max_body_bytes


async def early_refusal(request: web.BaseRequest, max_body_bytes: int) -> web.Response | None:
    expect = request.headers.get(hdrs.EXPECT)
    if expect is not None and expect.strip().lower() != "100-continue":
        return _closing(error_response(417, "expectation_failed", "unsupported Expect header"))
    length = request.content_length
    if length is not None and length > max_body_bytes:
        message = f"request body is larger than the limit of {max_body_bytes} bytes"
        refusal = error_response(413, "payload_too_large", message)
        return _closing(refusal) if expect is not None else refusal
    encoding = request.headers.get(hdrs.CONTENT_ENCODING, "identity").strip().lower()
    if encoding in ("identity", ""):
        return None
    if encoding in _INFLATABLE and not _looks_compressed(encoding, await _head(request)):
        return error_response(400, "malformed_body", f"the body is not valid {encoding} data")
    message = "compressed request bodies are not accepted: send the body uncompressed"
    return error_response(415, "unsupported_content_encoding", message)


def _closing(response: web.Response) -> web.Response:
    # the client waits for `100 Continue` and will not send the body: nothing to read on
    response.force_close()
    return response


async def _head(request: web.BaseRequest) -> bytes:
    try:
        return await request.content.readexactly(2)
    except asyncio.IncompleteReadError as exc:
        return exc.partial


def _looks_compressed(encoding: str, head: bytes) -> bool:
    if len(head) < 2:
        return False
    if encoding == "deflate":  # a zlib stream: method 8 and a header checksum
        return head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
    return head == b"\x1f\x8b"
