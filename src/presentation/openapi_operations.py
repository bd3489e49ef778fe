"""Every route of the HTTP contract (API.md): request schema, success and error statuses."""

from dataclasses import dataclass, replace
from typing import Any

from marshmallow import Schema

from kv_api.presentation.http import schemas as s
from kv_api.presentation.openapi_responses import NOT_READY

JSON = "application/json"
Content = tuple[str, type[Schema] | dict[str, Any]]
_STORAGE = (503,)
_SESSION = (401, 503)
_BODY = (400, 413)


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    success: str
    status: int = 200
    content: Content | None = None
    errors: tuple[int | str, ...] = ()  # statuses, or names of response components
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    public: bool = False
    description: str = ""
    examples: dict[str, Any] | None = None


def _examples(**named: tuple[str, Any]) -> dict[str, Any]:
    return {name: {"summary": summary, "value": value} for name, (summary, value) in named.items()}


_ACCOUNT_EXAMPLES = _examples(
    minimal=("username and password", {"username": "new_user", "password": "new_password"}),
    profile=(
        "with an e-mail address",
        {"username": "exampleUser", "password": "examplePassword", "email": "example@example.com"},
    ),
)
_LOGIN_EXAMPLES = _examples(
    bootstrap=(
        "the local bootstrap user of make run",
        {"username": "admin", "password": "presale"},
    ),
    registered=("a registered user", {"username": "new_user", "password": "new_password"}),
)
_WRITE_EXAMPLES = _examples(
    pairs=("a few pairs", {"data": {"key1": "value1", "key2": "value2", "key3": 1}}),
    nested=("any JSON value", {"data": {"profile": {"tags": ["a", "b"], "score": 1.5}}}),
    insert=("insert mode", {"data": {"key1": "kept if it exists"}, "mode": "insert"}),
    expiry=(
        "expiring pairs: one hour, key2 one minute",
        {"data": {"key1": "value1", "key2": "value2"}, "ttl": 3600, "ttls": {"key2": 60}},
    ),
    conditional=(
        "only if key1 is at version 3 and key2 does not exist (else 409)",
        {"data": {"key1": "new", "key2": "created"}, "if_version": {"key1": 3, "key2": 0}},
    ),
)
_THREE_KEYS = ("three keys", {"keys": ["key1", "key2", "key3"]})
_READ_EXAMPLES = _examples(
    keys=_THREE_KEYS,
    meta=(
        "with each pair's version and expiry",
        {"keys": ["key1", "key2"], "include": ["version", "expires_at"]},
    ),
)
_DELETE_EXAMPLES = _examples(
    keys=_THREE_KEYS,
    conditional=(
        "only if key1 is still at version 3 (else 409)",
        {"keys": ["key1"], "if_version": {"key1": 3}},
    ),
)
_PROFILE_EXAMPLES = _examples(
    profile=("profile fields", {"email": "ada@example.com", "first_name": "Ada"}),
    password=(
        "change the password (revokes older tokens)",
        {"password": "a-new-password", "current_password": "the-old-password"},
    ),
)
_UPDATE = Operation(
    "patch",
    "/api/users/me",
    "updateProfile",
    "Update your profile",
    "users",
    "the updated profile; with a fresh token after a password change",
    content=(JSON, s.ProfileUpdateResponse),
    errors=(*_BODY, 401, 403, 429, *_STORAGE),
    body=s.UpdateProfileRequest,
    examples=_PROFILE_EXAMPLES,
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/api/register",
        "register",
        "Create an account and get a token",
        "users",
        "account created",
        content=(JSON, s.RegisterResponse),
        errors=(*_BODY, 409, 429, *_STORAGE),
        body=s.RegisterRequest,
        public=True,
        examples=_ACCOUNT_EXAMPLES,
    ),
    Operation(
        "post",
        "/api/login",
        "login",
        "Exchange username and password for a token",
        "users",
        "a fresh token",
        content=(JSON, s.TokenResponse),
        errors=(*_BODY, 401, 429, *_STORAGE),
        body=s.LoginRequest,
        public=True,
        examples=_LOGIN_EXAMPLES,
        description="One answer for an unknown user and a wrong password.",
    ),
    Operation(
        "post",
        "/api/logout",
        "logout",
        "Revoke the token of this request",
        "users",
        "the token is revoked",
        status=204,
        errors=_SESSION,
    ),
    Operation(
        "get",
        "/api/users/me",
        "getProfile",
        "Read your profile",
        "users",
        "your profile",
        content=(JSON, s.ProfileResponse),
        errors=_SESSION,
    ),
    _UPDATE,
    replace(_UPDATE, method="put", operation_id="replaceProfile", summary="Same as PATCH"),
    Operation(
        "delete",
        "/api/users/me",
        "deleteAccount",
        "Delete your account, keys and tokens",
        "users",
        "the account is gone",
        status=204,
        errors=_SESSION,
    ),
    Operation(
        "post",
        "/api/write",
        "write",
        "Write a batch of key-value pairs atomically",
        "kv",
        "the whole batch is stored",
        content=(JSON, s.WriteResponse),
        errors=(*_BODY, *_SESSION, 409, 507),
        body=s.WriteRequest,
        examples=_WRITE_EXAMPLES,
    ),
    Operation(
        "post",
        "/api/read",
        "read",
        "Read a batch of keys",
        "kv",
        "found pairs and missing keys",
        content=(JSON, s.ReadResponse),
        errors=(*_BODY, *_SESSION),
        body=s.ReadRequest,
        examples=_READ_EXAMPLES,
    ),
    Operation(
        "post",
        "/api/delete",
        "delete",
        "Delete a batch of keys atomically",
        "kv",
        "how many keys existed and are gone",
        content=(JSON, s.DeleteResponse),
        errors=(*_BODY, *_SESSION, 409),
        body=s.DeleteRequest,
        examples=_DELETE_EXAMPLES,
    ),
    Operation(
        "get",
        "/api/keys",
        "listKeys",
        "List your keys in key order, page by page",
        "kv",
        "a page of keys",
        content=(JSON, s.KeyPageResponse),
        errors=(400, *_SESSION),
        query=s.ListKeysQuery,
    ),
    Operation(
        "get",
        "/health",
        "health",
        "Liveness",
        "ops",
        "the process is alive",
        content=(JSON, s.HealthResponse),
        public=True,
    ),
    Operation(
        "get",
        "/ready",
        "ready",
        "Readiness: Tarantool answers",
        "ops",
        "ready to serve",
        content=(JSON, s.ReadyResponse),
        errors=(NOT_READY,),
        public=True,
    ),
    Operation(
        "get",
        "/metrics",
        "metrics",
        "Prometheus metrics",
        "ops",
        "Prometheus text format",
        content=("text/plain", {"type": "string"}),
        errors=(401,),  # only when KV_METRICS_TOKEN is set
        public=True,
    ),
    Operation(
        "get",
        "/openapi.json",
        "openapi",
        "This OpenAPI document",
        "docs",
        "OpenAPI 3",
        content=(JSON, {"type": "object"}),
        public=True,
    ),
    Operation(
        "get",
        "/docs",
        "swaggerUi",
        "Swagger UI for this document",
        "docs",
        "an HTML page",
        content=("text/html", {"type": "string"}),
        public=True,
    ),
)

# Rules the application layer enforces beyond the marshmallow field checks.
_PROFILE_FIELDS = ("email", "first_name", "last_name", "password")
SCHEMA_RULES: dict[str, dict[str, Any]] = {
    "UpdateProfileRequest": {
        "description": "At least one of email, first_name, last_name, password; "
        "changing the password needs current_password.",
        "allOf": [
            {"anyOf": [{"required": [name]} for name in _PROFILE_FIELDS]},
            {"anyOf": [{"not": {"required": ["password"]}}, {"required": ["current_password"]}]},
        ],
    },
}
