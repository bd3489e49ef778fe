"""The /users routes older user-management clients call: the account steps of /api (the same
use cases, accounts and tokens) in the envelopes those clients expect. Their documentation
answers 422 where /api answers 400, so a request this face cannot take is 422 with the same
JSON error body."""

from collections.abc import Awaitable
from datetime import UTC
from typing import Any

from aiohttp import web
from marshmallow import ValidationError

from kv_api.domain.errors import DomainError
from kv_api.domain.users import User
from kv_api.presentation.http.errors import response_for
from kv_api.presentation.http.json import json_response
from kv_api.presentation.http.problems import BadRequest
from kv_api.presentation.routes.accounts import schemas as accounts
from kv_api.presentation.routes.accounts.endpoints import AccountEndpoints, usage_body
from kv_api.presentation.routes.contract import (
    JSON,
    SESSION_ERRORS,
    Operation,
    examples,
    operation,
)
from kv_api.presentation.routes.users import schemas as s

TAG = "user-management"
TAG_DESCRIPTION = (
    "the /users routes older user-management clients call: the same accounts, tokens, "
    "throttle and revocation as /api, in those clients' shapes; 422 where /api answers 400"
)
# this face answers a body that is invalid with 422
USERS_BODY_ERRORS = (422, 413)
_AS_DOCUMENTED = "as older clients send it"


def account_body(user: User) -> dict[str, str | None]:
    return {"username": user.username, "email": user.profile.email}


def profile_body(user: User) -> dict[str, str | None]:
    registered = user.created_at.astimezone(UTC).strftime(s.REGISTRATION_DATE_FORMAT)
    return {**account_body(user), "registration_date": registered}


def token_body(token: str) -> dict[str, str]:
    return {"access_token": token, "token_type": "bearer"}


async def unprocessable(answer: Awaitable[web.Response]) -> web.Response:
    """The answer /api gives a request it cannot take, with 422 instead of 400."""
    try:
        return await answer
    except (ValidationError, DomainError, BadRequest) as exc:
        response = response_for(exc)
        assert response is not None  # never a redirect
        if response.status == 400:
            response.set_status(422)
        return response


def _documented(value: dict[str, Any]) -> dict[str, Any]:
    return examples(documented=(_AS_DOCUMENTED, value))


class UserManagementEndpoints:
    def __init__(self, accounts: AccountEndpoints) -> None:
        self._accounts = accounts
        self._register_schema = s.UsersRegisterRequest()
        self._update_schema = s.UsersUpdateRequest()

    @operation(
        Operation(
            "post",
            "/users/register",
            "registerUser",
            "Create an account and get a token",
            TAG,
            "account created",
            content=(JSON, s.UsersRegisterResponse),
            errors=(*USERS_BODY_ERRORS, 403, 409, 429, 503),
            body=s.UsersRegisterRequest,
            public=True,
            description="403 `registration_closed` when the server takes no registrations.",
            examples=_documented(
                {
                    "username": "exampleUser",
                    "password": "examplePassword",
                    "email": "example@example.com",
                }
            ),
        )
    )
    async def register(self, request: web.Request) -> web.Response:
        return await unprocessable(self._register(request))

    async def _register(self, request: web.Request) -> web.Response:
        result = await self._accounts.registered(request, self._register_schema)
        return json_response({"data": account_body(result.user), **token_body(result.token.token)})

    @operation(
        Operation(
            "post",
            "/users/login",
            "loginUser",
            "Exchange username and password for a token",
            TAG,
            "a fresh token",
            content=(JSON, s.UsersTokenResponse),
            errors=(*USERS_BODY_ERRORS, 401, 429, 503),
            body=accounts.LoginRequest,
            public=True,
            examples=_documented({"username": "exampleUser", "password": "examplePassword"}),
            description="One answer for an unknown user and a wrong password.",
        )
    )
    async def login(self, request: web.Request) -> web.Response:
        return await unprocessable(self._login(request))

    async def _login(self, request: web.Request) -> web.Response:
        return json_response(token_body((await self._accounts.issued(request)).token))

    @operation(
        Operation(
            "post",
            "/users/logout",
            "logoutUser",
            "Revoke the token of this request",
            TAG,
            "the token is revoked",
            status=204,
            errors=SESSION_ERRORS,
        )
    )
    async def logout(self, request: web.Request) -> web.Response:
        return await self._accounts.logout(request)

    @operation(
        Operation(
            "get",
            "/users",
            "getUser",
            "Read your account and how much you store",
            TAG,
            "your account, with your usage and limits",
            content=(JSON, s.UsersAccountResponse),
            errors=SESSION_ERRORS,
        )
    )
    async def get_account(self, request: web.Request) -> web.Response:
        account = await self._accounts.profile(request)
        return json_response({**profile_body(account.user), "usage": usage_body(account.quota)})

    @operation(
        Operation(
            "put",
            "/users",
            "updateUser",
            "Update your email or password",
            TAG,
            "the updated account; with a fresh token after a password change",
            content=(JSON, s.UsersUpdateResponse),
            errors=(*USERS_BODY_ERRORS, 401, 403, 429, 503),
            body=s.UsersUpdateRequest,
            examples=examples(
                documented=(
                    "as older clients send it: the current password again is no change",
                    {"password": "examplePassword", "email": "example@example.com"},
                )
            ),
            description=(
                "At least one of email, password. A `password` equal to the current one is "
                "no change. A different one is a password change: it needs `current_password` "
                "(else 403 `current_password_required`), revokes every earlier token and "
                "returns a fresh one."
            ),
        )
    )
    async def update_account(self, request: web.Request) -> web.Response:
        return await unprocessable(self._update(request))

    async def _update(self, request: web.Request) -> web.Response:
        result = await self._accounts.updated(
            request, self._update_schema, resent_password_is_no_change=True
        )
        answer: dict[str, object] = {"data": profile_body(result.user)}
        if result.token is not None:
            answer.update(token_body(result.token.token))
        return json_response(answer)

    @operation(
        Operation(
            "delete",
            "/users",
            "deleteUser",
            "Delete your account, keys and tokens",
            TAG,
            "the account is gone",
            status=204,
            errors=SESSION_ERRORS,
        )
    )
    async def delete_account(self, request: web.Request) -> web.Response:
        return await self._accounts.delete_me(request)
