"""The OpenAPI 3 document, generated once at start-up from the marshmallow schemas that validate
requests (presentation/http/schemas.py) plus the response schemas next to them."""

from typing import Any, Protocol

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from kv_api.presentation.http.schemas import JSON_VALUE_SCHEMA
from kv_api.presentation.openapi_operations import OPERATIONS, SCHEMA_RULES, Operation
from kv_api.presentation.openapi_responses import (
    ERROR_RESPONSES,
    RESPONSE_STATUS,
    register_error_responses,
)
from kv_api.presentation.openapi_users_face import (
    TAG,
    TAG_DESCRIPTION,
    USERS_FACE_OPERATIONS,
    USERS_FACE_SCHEMA_RULES,
)
from kv_api.presentation.openapi_watch import (
    WATCH_OPERATIONS,
    WATCH_RESPONSE_STATUS,
    add_event_stream,
    register_watch_responses,
)

OPENAPI_VERSION = "3.0.3"
BEARER = "bearerAuth"
JSON = "application/json"

_DESCRIPTION = """\
Authenticated batch key-value store on Tarantool.

1. `POST /api/register` or `POST /api/login` returns a JWT in `token` (and `access_token`).
2. Press **Authorize** and paste the token (no `Bearer ` prefix needed here); it is kept across
   page reloads.
3. Every `/api/*` route except register and login needs `Authorization: Bearer <token>`.
4. The `/users` routes serve older user-management clients with the same accounts and tokens.

Every error has the body `{{"error": {{"code", "message"}}}}`, plus `fields` for validation errors.

Limits of this server: at most {max_items} pairs or keys per request, {max_value_bytes} bytes
per encoded value, {max_body_bytes} bytes per request body, nesting up to {max_depth} levels;
a pair's TTL is {min_ttl} to {max_ttl} seconds; tokens live {token_ttl} seconds.
"""


class DocumentedLimits(Protocol):
    """The settings the document states (the app factory passes its Settings)."""

    @property
    def max_items(self) -> int: ...
    @property
    def max_value_bytes(self) -> int: ...
    @property
    def max_body_bytes(self) -> int: ...
    @property
    def max_depth(self) -> int: ...
    @property
    def token_ttl(self) -> int: ...
    @property
    def min_ttl(self) -> int: ...
    @property
    def max_ttl(self) -> int: ...


def build_openapi(settings: DocumentedLimits) -> dict[str, Any]:
    spec = APISpec(
        title="KV API",
        version="1.0.0",
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={"description": _describe(settings)},
        security=[{BEARER: []}],
        tags=[
            {"name": "users", "description": "accounts and sessions"},
            {"name": TAG, "description": TAG_DESCRIPTION},
            {"name": "kv", "description": "batch key-value data, private to each user"},
            {"name": "ops", "description": "health, readiness, metrics"},
            {"name": "docs", "description": "this document and its Swagger UI"},
        ],
    )
    spec.components.security_scheme(
        BEARER, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    spec.components.schema("JsonValue", JSON_VALUE_SCHEMA)
    register_error_responses(spec)
    register_watch_responses(spec)
    for path, operations in _by_path().items():
        spec.path(path=path, operations={op.method: _operation(op) for op in operations})
    document: dict[str, Any] = spec.to_dict()
    for name, rules in {**SCHEMA_RULES, **USERS_FACE_SCHEMA_RULES}.items():
        document["components"]["schemas"][name].update(rules)
    add_event_stream(document)
    _state_ttl_bounds(document["components"]["schemas"]["WriteRequest"], settings)
    return document


def _state_ttl_bounds(write: dict[str, Any], settings: DocumentedLimits) -> None:
    """The TTL bounds are settings: the document states this server's, so a client (and the
    contract fuzzer) can tell an accepted TTL from a 400 before sending."""
    # New dicts: apispec shares nested metadata between documents built in one process.
    bounds = {"minimum": settings.min_ttl, "maximum": settings.max_ttl}
    properties = write["properties"]
    properties["ttl"] = {**properties["ttl"], **bounds}
    ttls = properties["ttls"] = dict(properties["ttls"])
    ttls["additionalProperties"] = {**ttls["additionalProperties"], **bounds}


def _describe(settings: DocumentedLimits) -> str:
    return _DESCRIPTION.format(
        max_items=settings.max_items,
        max_value_bytes=settings.max_value_bytes,
        max_body_bytes=settings.max_body_bytes,
        max_depth=settings.max_depth,
        token_ttl=settings.token_ttl,
        min_ttl=settings.min_ttl,
        max_ttl=settings.max_ttl,
    )


def _by_path() -> dict[str, list[Operation]]:
    paths: dict[str, list[Operation]] = {}
    for op in (*OPERATIONS, *WATCH_OPERATIONS, *USERS_FACE_OPERATIONS):
        paths.setdefault(op.path, []).append(op)
    return paths


def _operation(op: Operation) -> dict[str, Any]:
    result: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": {str(op.status): _success(op)},
    }
    if op.description:
        result["description"] = op.description
    if op.public:
        result["security"] = []
    if op.query is not None:
        result["parameters"] = [{"in": "query", "schema": op.query}]
    if op.body is not None:
        media: dict[str, Any] = {"schema": op.body}
        if op.examples:
            media["examples"] = op.examples
        result["requestBody"] = {"required": True, "content": {JSON: media}}
    for error in op.errors:
        name = ERROR_RESPONSES[error] if isinstance(error, int) else error
        status = RESPONSE_STATUS.get(name) or WATCH_RESPONSE_STATUS[name]
        result["responses"][str(status)] = name
    return result


def _success(op: Operation) -> dict[str, Any]:
    response: dict[str, Any] = {"description": op.success}
    if op.content is not None:
        media_type, schema = op.content
        response["content"] = {media_type: {"schema": schema}}
    return response
