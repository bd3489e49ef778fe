"""Accounts and sessions: /api/register, /api/login, /api/logout and /api/users/me. The steps
that read a request and run a use case (`registered`, `issued`, `updated`, ...) are shared
with the /users face, which only wraps their results in its own envelopes."""

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from aiohttp import web
from marshmallow import Schema, ValidationError

from kv_api.application.errors import InvalidCredentials, RateLimited
from kv_api.application.ports import IssuedToken
from kv_api.application.users.commands import (
    DeleteAccount,
    GetProfile,
    Login,
    Logout,
    RegisterUser,
    UpdateProfile,
)
from kv_api.application.users.delete_account import DeleteAccountHandler
from kv_api.application.users.login import LoginHandler
from kv_api.application.users.logout import LogoutHandler
from kv_api.application.users.profile import (
    Account,
    GetProfileHandler,
    ProfileUpdated,
    UpdateProfileHandler,
)
from kv_api.application.users.register import Registered, RegisterUserHandler
from kv_api.application.users.registration_limit import RegistrationLimit
from kv_api.domain.quotas import Quota
from kv_api.domain.users import User
from kv_api.presentation.http.auth import current_session
from kv_api.presentation.http.json import json_response, read_json
from kv_api.presentation.http.metrics import Metrics
from kv_api.presentation.http.problems import BadRequest
from kv_api.presentation.routes.accounts import schemas as s
from kv_api.presentation.routes.contract import (
    BODY_ERRORS,
    JSON,
    SESSION_ERRORS,
    Operation,
    examples,
    operation,
)

TAG = "users"
Rules = Callable[[Mapping[str, object]], dict[str, list[str]]]


def profile_body(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.profile.email,
        "first_name": user.profile.first_name,
        "last_name": user.profile.last_name,
        "created_at": user.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": user.updated_at.isoformat().replace("+00:00", "Z"),
    }


def usage_body(quota: Quota) -> dict[str, int | None]:
    """What the caller stores and its limits (null: unlimited)."""
    return {
        "keys": quota.usage.keys,
        "bytes": quota.usage.bytes,
        "max_keys": quota.limits.keys,
        "max_bytes": quota.limits.bytes,
    }


def token_body(token: IssuedToken) -> dict[str, Any]:
    return {
        "token": token.token,
        "access_token": token.token,
        "token_type": "bearer",
        "expires_in": token.expires_in,
    }


def load_all_problems(schema: Schema, data: Any, rules: Rules) -> dict[str, Any]:
    """Schema load whose error also names the fields that only break the domain rules."""
    try:
        loaded: dict[str, Any] = schema.load(data)
        return loaded
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        rest = rules({k: v for k, v in valid.items() if k not in messages})
        raise ValidationError({**messages, **rest}) from None


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"


_UPDATE = Operation(
    "patch",
    "/api/users/me",
    "updateProfile",
    "Update your profile",
    TAG,
    "the updated profile; with a fresh token after a password change",
    content=(JSON, s.ProfileUpdateResponse),
    errors=(*BODY_ERRORS, 401, 403, 429, 503),
    body=s.UpdateProfileRequest,
    examples=examples(
        profile=("profile fields", {"email": "ada@example.com", "first_name": "Ada"}),
        password=(
            "change the password (revokes older tokens)",
            {"password": "a-new-password", "current_password": "the-old-password"},
        ),
    ),
    description="At least one of email, first_name, last_name, password (null clears a "
    "profile field); changing the password needs current_password.",
)


class AccountEndpoints:
    def __init__(
        self,
        register: RegisterUserHandler,
        login: LoginHandler,
        logout: LogoutHandler,
        profile: GetProfileHandler,
        update: UpdateProfileHandler,
        delete: DeleteAccountHandler,
        registration_limit: RegistrationLimit,
        metrics: Metrics,
    ) -> None:
        self._register = register
        self._login = login
        self._logout = logout
        self._profile = profile
        self._update = update
        self._delete = delete
        self._registration_limit = registration_limit
        self._metrics = metrics
        self._register_schema = s.RegisterRequest()
        self._login_schema = s.LoginRequest()
        self._update_schema = s.UpdateProfileRequest()

    # The steps both faces take.

    async def registered(self, request: web.Request, schema: Schema) -> Registered:
        """Closed registration first, the per-address limit, every problem of the body at
        once, then the use case."""
        self._register.ensure_open()
        await self._registration_limit.check(client_address(request))
        body = load_all_problems(schema, await read_json(request), self._register.problems)
        return await self._register(RegisterUser(**body))

    async def issued(self, request: web.Request) -> IssuedToken:
        body = self._login_schema.load(await read_json(request))
        try:
            return await self._login(
                Login(body["username"], body["password"], client_address(request))
            )
        except InvalidCredentials:
            self._metrics.login_failures.inc()
            raise
        except RateLimited:
            self._metrics.login_rate_limited.inc()
            raise

    async def profile(self, request: web.Request) -> Account:
        return await self._profile(GetProfile(current_session(request)))

    async def updated(
        self, request: web.Request, schema: Schema, resent_password_is_no_change: bool = False
    ) -> ProfileUpdated:
        """`schema` says which fields this face takes."""
        body = load_all_problems(schema, await read_json(request), self._update.problems)
        if not body.keys() - {"current_password"}:
            names = ", ".join(name for name in schema.fields if name != "current_password")
            raise BadRequest("nothing_to_update", f"send at least one of {names}")
        command = UpdateProfile(
            session=current_session(request),
            fields=frozenset(body),
            resent_password_is_no_change=resent_password_is_no_change,
            **body,
        )
        return await self._update(command)

    # The /api routes.

    @operation(
        Operation(
            "post",
            "/api/register",
            "register",
            "Create an account and get a token",
            TAG,
            "account created",
            content=(JSON, s.RegisterResponse),
            errors=(*BODY_ERRORS, 403, 409, 429, 503),
            body=s.RegisterRequest,
            public=True,
            description="403 `registration_closed` when the server takes no registrations "
            "(KV_REGISTRATION=closed): the operator creates accounts.",
            examples=examples(
                minimal=(
                    "username and password",
                    {"username": "new_user", "password": "new_password"},
                ),
                profile=(
                    "with an e-mail address",
                    {
                        "username": "exampleUser",
                        "password": "examplePassword",
                        "email": "example@example.com",
                    },
                ),
            ),
        )
    )
    async def register(self, request: web.Request) -> web.Response:
        result = await self.registered(request, self._register_schema)
        user = profile_body(result.user)
        body = {"status": "User created successfully", "user": user, **token_body(result.token)}
        return json_response(body)

    @operation(
        Operation(
            "post",
            "/api/login",
            "login",
            "Exchange username and password for a token",
            TAG,
            "a fresh token",
            content=(JSON, s.TokenResponse),
            errors=(*BODY_ERRORS, 401, 429, 503),
            body=s.LoginRequest,
            public=True,
            examples=examples(
                bootstrap=(
                    "the local bootstrap user of make run",
                    {"username": "admin", "password": "presale"},
                ),
                registered=(
                    "a registered user",
                    {"username": "new_user", "password": "new_password"},
                ),
            ),
            description="One answer for an unknown user and a wrong password.",
        )
    )
    async def login(self, request: web.Request) -> web.Response:
        return json_response(token_body(await self.issued(request)))

    @operation(
        Operation(
            "post",
            "/api/logout",
            "logout",
            "Revoke the token of this request",
            TAG,
            "the token is revoked",
            status=204,
            errors=SESSION_ERRORS,
        )
    )
    async def logout(self, request: web.Request) -> web.Response:
        await self._logout(Logout(current_session(request)))
        return web.Response(status=204)

    @operation(
        Operation(
            "get",
            "/api/users/me",
            "getProfile",
            "Read your profile and how much you store",
            TAG,
            "your profile, with your usage and limits",
            content=(JSON, s.AccountResponse),
            errors=SESSION_ERRORS,
        )
    )
    async def get_me(self, request: web.Request) -> web.Response:
        account = await self.profile(request)
        return json_response({**profile_body(account.user), "usage": usage_body(account.quota)})

    @operation(
        _UPDATE,
        replace(_UPDATE, method="put", operation_id="replaceProfile", summary="Same as PATCH"),
    )
    async def update_me(self, request: web.Request) -> web.Response:
        result = await self.updated(request, self._update_schema)
        body = profile_body(result.user)
        if result.token is not None:
            body.update(token_body(result.token))
        return json_response(body)

    @operation(
        Operation(
            "delete",
            "/api/users/me",
            "deleteAccount",
            "Delete your account, keys and tokens",
            TAG,
            "the account is gone",
            status=204,
            errors=SESSION_ERRORS,
        )
    )
    async def delete_me(self, request: web.Request) -> web.Response:
        await self._delete(DeleteAccount(current_session(request)))
        return web.Response(status=204)
