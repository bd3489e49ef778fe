"""The usual error answers of the OpenAPI document: one component per status the server
returns, and the components of answers a route family declares itself."""

from typing import Any

from apispec import APISpec

from kv_api.presentation.routes.contract import Answer
from kv_api.presentation.routes.fields import ErrorResponse

_RETRY_AFTER = {
    "description": "seconds to wait before trying again",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}
_WWW_AUTHENTICATE = {
    "description": "always `Bearer`",
    "required": True,
    "schema": {"type": "string", "enum": ["Bearer"]},
}


def _error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


# status -> (component name, description, example body, headers)
_ERRORS: dict[int, tuple[str, str, dict[str, Any], dict[str, Any]]] = {
    400: (
        "BadRequest",
        "invalid request: bad JSON, wrong types, missing or empty fields, a broken limit",
        _error(
            "validation_error",
            "password: must be 8-128 characters",
            fields={"password": ["must be 8-128 characters"]},
        ),
        {},
    ),
    401: (
        "Unauthorized",
        "missing, malformed, expired, tampered or revoked token; or wrong credentials at login",
        _error("unauthorized", "invalid or missing bearer token"),
        {"WWW-Authenticate": _WWW_AUTHENTICATE},
    ),
    403: (
        "Forbidden",
        "current_password is wrong, or missing for a new password on PUT /users; "
        "`registration_closed`: the server takes no registrations (KV_REGISTRATION=closed)",
        _error("wrong_current_password", "current_password is wrong"),
        {},
    ),
    409: (
        "Conflict",
        "`username_taken`: the username is taken (compared case-insensitively). "
        "`version_conflict` (write, delete): an `if_version` did not hold, nothing of the batch "
        "was applied; `conflicts` names every failing key with the version expected and its "
        "current one (0: absent)",
        _error("username_taken", "a user with this username already exists"),
        {},
    ),
    422: (
        "UnprocessableEntity",
        "the /users routes' answer to an invalid request (where /api answers 400): bad JSON, "
        "wrong types, missing fields, a field with characters it does not allow",
        _error(
            "validation_error",
            "username: must be 2-64 characters of letters, digits, '_', '.', '-'",
            fields={"username": ["must be 2-64 characters of letters, digits, '_', '.', '-'"]},
        ),
        {},
    ),
    413: (
        "PayloadTooLarge",
        "the request body is over the configured limit",
        _error("payload_too_large", "request body is larger than the configured limit"),
        {},
    ),
    429: (
        "TooManyRequests",
        "too many attempts: failed logins or password guesses for this user or client "
        "address, or registrations from this address; `too_many_requests`: the caller "
        "already has its limit of requests in progress (KV_USER_MAX_INFLIGHT), answered a "
        "second after the request",
        _error("rate_limited", "too many failed login attempts; try again later"),
        {"Retry-After": _RETRY_AFTER},
    ),
    507: (
        "InsufficientStorage",
        "`insufficient_storage`: the store's memory is full: the write was not applied; reads "
        "and deletes still work. `quota_exceeded`: the write would take the writer's keys or "
        "stored bytes past its quota: nothing of it was applied; `usage` is what the writer "
        "stores, `limit` its limits (null: none); deletes still work",
        _error("insufficient_storage", "the store is full: the write was not applied"),
        {},
    ),
    503: (
        "ServiceUnavailable",
        "the storage (Tarantool) is unavailable; retry later",
        _error("storage_unavailable", "storage is unavailable, try again shortly"),
        {"Retry-After": _RETRY_AFTER},
    ),
}

# Statuses with more than one kind of body: named examples instead of the one above.
_MORE_EXAMPLES: dict[int, dict[str, Any]] = {
    403: {
        "registration_closed": _error(
            "registration_closed",
            "registration is closed on this server: ask its operator for an account",
        ),
    },
    429: {
        "too_many_requests": _error(
            "too_many_requests",
            "you already have 32 requests in progress; wait for their answers before sending more",
        ),
    },
    507: {
        "quota_exceeded": _error(
            "quota_exceeded",
            "this write would pass your quota: stored bytes 71,000,512 over the limit of "
            "67,108,864; nothing was applied (you store 64 keys, 64,000,448 bytes): delete "
            "keys, or ask the operator for a larger quota",
            usage={"keys": 64, "bytes": 64000448},
            limit={"keys": 250000, "bytes": 67108864},
        ),
    },
    409: {
        "version_conflict": _error(
            "version_conflict",
            "2 key(s) are not at the expected version; nothing was applied",
            conflicts={
                "key1": {"expected": 2, "current": 3},
                "key2": {"expected": 0, "current": 1},
            },
        ),
    },
}

STATUS_ANSWERS: dict[int, str] = {status: entry[0] for status, entry in _ERRORS.items()}


def register_status_answers(spec: APISpec) -> None:
    for status, (name, description, example, headers) in _ERRORS.items():
        media: dict[str, Any] = {"schema": ErrorResponse, "example": example}
        if status in _MORE_EXAMPLES:
            named = {example["error"]["code"]: example, **_MORE_EXAMPLES[status]}
            del media["example"]
            media["examples"] = {code: {"value": body} for code, body in named.items()}
        component: dict[str, Any] = {
            "description": description,
            "content": {"application/json": media},
        }
        if headers:
            component["headers"] = headers
        spec.components.response(name, component)


def register_answer(spec: APISpec, answer: Answer) -> None:
    media = {"schema": answer.schema or ErrorResponse, "example": answer.example}
    component: dict[str, Any] = {
        "description": answer.description,
        "content": {"application/json": media},
    }
    if answer.retry_after:
        component["headers"] = {"Retry-After": _RETRY_AFTER}
    spec.components.response(answer.name, component)
