"""The OpenAPI 3 document, generated once at start-up from the route table: each operation
as its route declares it (routes/contract.py), with the marshmallow schemas that read its
requests, and the bounds that are settings filled in with this server's values."""

from collections.abc import Mapping
from typing import Any, Protocol

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

from kv_api.presentation.openapi_answers import (
    STATUS_ANSWERS,
    register_answer,
    register_status_answers,
)
from kv_api.presentation.routes import table
from kv_api.presentation.routes.contract import Answer, Operation
from kv_api.presentation.routes.fields import JSON_VALUE_SCHEMA
from kv_api.presentation.routes.users.endpoints import TAG as USER_MANAGEMENT
from kv_api.presentation.routes.users.endpoints import TAG_DESCRIPTION

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
_TAGS = [
    {"name": "users", "description": "accounts and sessions"},
    {"name": USER_MANAGEMENT, "description": TAG_DESCRIPTION},
    {"name": "kv", "description": "batch key-value data, private to each user"},
    {"name": "ops", "description": "health, readiness, metrics"},
    {"name": "docs", "description": "this document and its Swagger UI"},
]


class DocumentedSettings(Protocol):
    """The settings the document states (the app passes its Settings); a field's `bounds`
    metadata names these attributes."""

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


def build_openapi(settings: DocumentedSettings) -> dict[str, Any]:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="KV API",
        version="1.0.0",
        openapi_version=OPENAPI_VERSION,
        plugins=[plugin],
        info={"description": _DESCRIPTION.format_map(_described(settings))},
        security=[{BEARER: []}],
        tags=_TAGS,
    )
    assert plugin.converter is not None  # set by APISpec when it registers the plugin
    plugin.converter.add_attribute_function(_bounds_of(settings))  # type: ignore[no-untyped-call]
    spec.components.security_scheme(
        BEARER, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    spec.components.schema("JsonValue", JSON_VALUE_SCHEMA)
    register_status_answers(spec)
    operations = [op for op in table.operations() if op.documented]
    answers = {e.name: e for op in operations for e in op.errors if isinstance(e, Answer)}
    for answer in answers.values():
        register_answer(spec, answer)
    for path, ops in _by_path(operations).items():
        spec.path(path=path, operations={op.method: _operation(op) for op in ops})
    document: dict[str, Any] = spec.to_dict()
    _add_schema_rules(document["components"]["schemas"], operations)
    return document


def _described(settings: DocumentedSettings) -> dict[str, int]:
    names = ("max_items", "max_value_bytes", "max_body_bytes", "max_depth", "token_ttl")
    return {name: getattr(settings, name) for name in (*names, "min_ttl", "max_ttl")}


def _bounds_of(settings: DocumentedSettings) -> Any:
    """An apispec attribute function: a field's `bounds` metadata (OpenAPI keyword -> setting
    name, nested for a map's values) becomes this server's numbers."""

    def resolve(bounds: Mapping[str, Any], into: Mapping[str, Any]) -> dict[str, Any]:
        resolved = dict(into)  # new dicts: apispec shares metadata between documents
        for keyword, name in bounds.items():
            if isinstance(name, Mapping):
                resolved[keyword] = resolve(name, into.get(keyword) or {})
            else:
                resolved[keyword] = getattr(settings, name)
        return resolved

    def bounds(self: Any, field: fields.Field, ret: dict[str, Any], **kwargs: Any) -> Any:  # type: ignore[type-arg]
        declared = field.metadata.get("bounds")
        if not declared:
            return {}
        return resolve(declared, {k: ret[k] for k in declared if k in ret})

    return bounds


def _add_schema_rules(components: dict[str, Any], operations: list[Operation]) -> None:
    """What a schema's fields cannot state (at least one of them, one needing another), from
    the schema's own `openapi_rules`."""
    for op in operations:
        schema = op.body
        rules = getattr(schema, "openapi_rules", None)
        if schema is not None and rules:
            components[schema.__name__].update(rules)


def _by_path(operations: list[Operation]) -> dict[str, list[Operation]]:
    paths: dict[str, list[Operation]] = {}
    for op in operations:
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
        if isinstance(error, Answer):
            result["responses"][str(error.status)] = error.name
        else:
            result["responses"][str(error)] = STATUS_ANSWERS[error]
    return result


def _success(op: Operation) -> dict[str, Any]:
    response: dict[str, Any] = {"description": op.success}
    if op.content is not None:
        media_type, schema = op.content
        response["content"] = {media_type: {"schema": schema}, **dict(op.alternatives)}
    if op.success_headers:
        response["headers"] = op.success_headers
    return response
