import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import http_exceptions, web
from marshmallow import ValidationError

from kv_api.application.errors import (
    ApplicationError,
    HistoryCompacted,
    Overloaded,
    QuotaExceeded,
    RateLimited,
    RegistrationClosed,
    StorageFull,
    StorageRejected,
    StorageUnavailable,
    TooManyInFlight,
    TooManyWatches,
    Unauthenticated,
    UsernameTaken,
    VersionConflict,
    WrongCurrentPassword,
)
from kv_api.domain.errors import (
    DomainError,
    InvalidField,
    InvalidKey,
    InvalidTtl,
    InvalidValue,
    InvalidVersion,
)
from kv_api.presentation.http.json import json_response
from kv_api.presentation.http.problems import BadRequest

log = logging.getLogger("kv_api.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    410: "gone",
    429: "rate_limited",
}
_APP_STATUS: list[tuple[type[ApplicationError], int]] = [
    (Unauthenticated, 401),
    (WrongCurrentPassword, 403),
    (RegistrationClosed, 403),
    (UsernameTaken, 409),
    (VersionConflict, 409),
    (RateLimited, 429),
    (TooManyWatches, 429),
    (TooManyInFlight, 429),
    (HistoryCompacted, 410),
    (StorageUnavailable, 503),
    (StorageFull, 507),
    (QuotaExceeded, 507),
    (Overloaded, 503),
    (StorageRejected, 400),
]
AUTH_HEADERS = {"WWW-Authenticate": "Bearer"}
SCHEMA_LEVEL = "_schema"  # marshmallow's name for a problem of the whole body
# A body that broke off or was framed wrongly, seen by a handler reading it: the client's
# fault, one quiet line (the parser's message may quote the request).
_BODY_ERRORS = (web.RequestPayloadError, http_exceptions.HttpProcessingError, ConnectionResetError)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    return json_response(error_body(code, message, **extra), status=status, headers=headers)


def _from_http(exc: web.HTTPException) -> web.Response:
    code = _HTTP_CODES.get(exc.status, "http_error")
    message = exc.reason
    if exc.status == 413:
        message = "request body is larger than the configured limit"
    elif exc.status == 403 and exc.text and exc.text != f"403: {exc.reason}":
        message = exc.text  # aiohttp-cors refusing a preflight says why
    headers = {k: v for k, v in exc.headers.items() if k.lower() in {"allow", "retry-after"}}
    if exc.status == 401:
        headers.update(AUTH_HEADERS)
    return error_response(exc.status, code, message, headers=headers)


def _from_application(exc: ApplicationError) -> web.Response:
    status = next(s for cls, s in _APP_STATUS if isinstance(exc, cls))
    headers: dict[str, str] = {}
    if status == 401:
        headers.update(AUTH_HEADERS)
    if isinstance(
        exc, (RateLimited, StorageUnavailable, Overloaded, TooManyWatches, TooManyInFlight)
    ):
        headers["Retry-After"] = str(max(1, exc.retry_after))
    extra: dict[str, Any] = {}
    if isinstance(exc, VersionConflict):
        extra["conflicts"] = {
            key: {"expected": expected, "current": current}
            for key, (expected, current) in exc.conflicts.items()
        }
    if isinstance(exc, HistoryCompacted):
        extra.update(oldest=exc.oldest, revision=exc.revision)
    if isinstance(exc, QuotaExceeded):
        extra["usage"] = {"keys": exc.usage.keys, "bytes": exc.usage.bytes}
        extra["limit"] = {"keys": exc.limits.keys, "bytes": exc.limits.bytes}
    return error_response(status, exc.code, exc.message, headers=headers, **extra)


def _from_domain(exc: DomainError) -> web.Response:
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidField):
        extra["fields"] = exc.fields
    if (
        isinstance(exc, (InvalidKey, InvalidValue, InvalidTtl, InvalidVersion))
        and exc.key is not None
    ):
        extra["key"] = exc.key
    return error_response(400, exc.code, exc.message, **extra)


def _from_validation(exc: ValidationError) -> web.Response:
    messages = exc.messages if isinstance(exc.messages, dict) else {SCHEMA_LEVEL: exc.messages}
    fields = {str(k): _flatten(v) for k, v in messages.items()}
    name, problems = next(iter(fields.items()))
    # a problem of the body as a whole is said as it is; a field's is prefixed with its name
    message = problems[0] if name == SCHEMA_LEVEL else f"{name}: {problems[0]}"
    return error_response(400, "validation_error", message, fields=fields)


def _flatten(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _flatten(v)]
    if isinstance(value, list):
        return [m for item in value for m in _flatten(item)]
    return [str(value)]


def response_for(exc: Exception) -> web.Response | None:
    """The JSON error answer for an exception raised while handling a request; None for an
    HTTPException below 400 (a redirect), which aiohttp itself sends."""
    if isinstance(exc, web.HTTPException):
        return _from_http(exc) if exc.status >= 400 else None
    if isinstance(exc, ApplicationError):
        return _from_application(exc)
    if isinstance(exc, DomainError):
        return _from_domain(exc)
    if isinstance(exc, ValidationError):
        return _from_validation(exc)
    if isinstance(exc, BadRequest):
        if exc.fields:
            return error_response(exc.status, exc.code, exc.message, fields=exc.fields)
        return error_response(exc.status, exc.code, exc.message)
    if isinstance(exc, _BODY_ERRORS):
        log.warning("could not read a request body: %s", type(exc).__name__)
        return error_response(400, "malformed_body", "the request body could not be read")
    log.error("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "internal server error")
