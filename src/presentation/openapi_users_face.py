"""The /users routes of older user-management clients in the OpenAPI document: same accounts
and tokens as /api, their own envelopes, 422 where /api answers 400."""

from typing import Any

from kv_api.presentation.http import schemas as s
from kv_api.presentation.http import users_face_schemas as u
from kv_api.presentation.openapi_operations import JSON, Operation

TAG = "user-management"
TAG_DESCRIPTION = (
    "the /users routes older user-management clients call: the same accounts, tokens, "
    "throttle and revocation as /api, in those clients' shapes; 422 where /api answers 400"
)
_SESSION = (401, 503)
_BODY = (422, 413)
_DOCUMENTED_ACCOUNT = {
    "username": "exampleUser",
    "password": "examplePassword",
    "email": "example@example.com",
}


def _example(summary: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"documented": {"summary": summary, "value": value}}


USERS_FACE_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/users/register",
        "registerUser",
        "Create an account and get a token",
        TAG,
        "account created",
        content=(JSON, u.UsersRegisterResponse),
        errors=(*_BODY, 409, 429, 503),
        body=u.UsersRegisterRequest,
        public=True,
        examples=_example("as older clients send it", _DOCUMENTED_ACCOUNT),
    ),
    Operation(
        "post",
        "/users/login",
        "loginUser",
        "Exchange username and password for a token",
        TAG,
        "a fresh token",
        content=(JSON, u.UsersTokenResponse),
        errors=(*_BODY, 401, 429, 503),
        body=s.LoginRequest,
        public=True,
        examples=_example(
            "as older clients send it",
            {"username": "exampleUser", "password": "examplePassword"},
        ),
        description="One answer for an unknown user and a wrong password.",
    ),
    Operation(
        "post",
        "/users/logout",
        "logoutUser",
        "Revoke the token of this request",
        TAG,
        "the token is revoked",
        status=204,
        errors=_SESSION,
    ),
    Operation(
        "get",
        "/users",
        "getUser",
        "Read your account",
        TAG,
        "your account",
        content=(JSON, u.UsersProfile),
        errors=_SESSION,
    ),
    Operation(
        "put",
        "/users",
        "updateUser",
        "Update your email or password",
        TAG,
        "the updated account; with a fresh token after a password change",
        content=(JSON, u.UsersUpdateResponse),
        errors=(*_BODY, 401, 403, 429, 503),
        body=u.UsersUpdateRequest,
        examples=_example(
            "as older clients send it: the current password again is no change",
            {"password": "examplePassword", "email": "example@example.com"},
        ),
        description=(
            "A `password` equal to the current one is no change. A different one is a "
            "password change: it needs `current_password` (else 403 "
            "`current_password_required`), revokes every earlier token and returns a fresh one."
        ),
    ),
    Operation(
        "delete",
        "/users",
        "deleteUser",
        "Delete your account, keys and tokens",
        TAG,
        "the account is gone",
        status=204,
        errors=_SESSION,
    ),
)

USERS_FACE_SCHEMA_RULES: dict[str, dict[str, Any]] = {
    "UsersUpdateRequest": {
        "description": "At least one of email, password.",
        "anyOf": [{"required": ["email"]}, {"required": ["password"]}],
    },
}
