"""JSON answers for what aiohttp refuses before any middleware runs (its HTTP parser, a body
that breaks off), logged as one WARNING line that names only the kind of problem: the
parser's own message quotes the offending line, so a bearer token sent with a stray control
character would otherwise land in the log. Like every answer of the app's they carry a request
id (a new one: the request's own headers cannot be trusted) and the hardening headers."""

import logging
from http import HTTPStatus

import orjson
from aiohttp import http_exceptions, web

from kv_api.presentation.http.edge import stamp
from kv_api.presentation.http.errors import error_body, error_response
from kv_api.presentation.http.request_context import REQUEST_ID_HEADER, new_request_id
from kv_api.presentation.http.security_headers import API_HEADERS

log = logging.getLogger("kv_api.http.parser")
# Every method some route serves; an unknown method has no resource to ask.
ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"


def _classify(exc: BaseException | None) -> tuple[int, str, str]:
    if isinstance(exc, http_exceptions.BadHttpMethod):
        return 405, "method_not_allowed", "unknown HTTP method"
    if isinstance(exc, http_exceptions.LineTooLong) or "Too many headers" in str(exc):
        return 431, "headers_too_large", "the request line or headers are larger than allowed"
    if isinstance(exc, http_exceptions.HttpProcessingError):
        return 400, "malformed_request", "the request is not valid HTTP/1.1"
    return 400, "malformed_request", "the request could not be read"


def parser_error_response(
    remote: str | None, status: int, exc: BaseException | None
) -> web.Response:
    """The answer for aiohttp's `RequestHandler.handle_error`; 500 and 504 are the server's."""
    request_id = new_request_id()
    if status == 504:
        response = error_response(504, "timeout", "the request took too long")
    elif status >= 500:
        log.error("error handling a request", exc_info=exc, extra={"request_id": request_id})
        response = error_response(500, "internal_error", "internal server error")
    else:
        status, code, message = _classify(exc)
        log.warning(
            "refused a malformed request from %s: %s (%d)",
            remote,
            type(exc).__name__,
            status,
            extra={"request_id": request_id},
        )
        headers = {"Allow": ALLOWED_METHODS} if status == 405 else None
        response = error_response(status, code, message, headers=headers)
    stamp(response, request_id, "/")
    return response


def raw_answer(status: int, code: str, message: str, retry_after: int | None = None) -> bytes:
    """A whole HTTP/1.1 error answer for a connection that has no request object to answer,
    with a new request id each time it is made."""
    body = orjson.dumps(error_body(code, message))
    extra = f"Retry-After: {retry_after}\r\n" if retry_after is not None else ""
    hardening = "".join(f"{name}: {value}\r\n" for name, value in API_HEADERS)
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"{REQUEST_ID_HEADER}: {new_request_id()}\r\n{hardening}"
        f"{extra}Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body
