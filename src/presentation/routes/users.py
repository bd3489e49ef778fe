from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from dependency_injector.wiring import Provide, inject
from marshmallow import Schema, ValidationError

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
    GetProfileHandler,
    ProfileUpdated,
    UpdateProfileHandler,
)
from kv_api.application.users.register import Registered, RegisterUserHandler
from kv_api.application.users.registration_limit import RegistrationLimit
from kv_api.domain.users import User
from kv_api.presentation.container import Container
from kv_api.presentation.http.auth import current_session
from kv_api.presentation.http.json import json_response, read_json
from kv_api.presentation.http.problems import BadRequest
from kv_api.presentation.http.schemas import LoginRequest, RegisterRequest, UpdateProfileRequest

routes = web.RouteTableDef()
_register = RegisterRequest()
_login = LoginRequest()
_update = UpdateProfileRequest()


def profile_body(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.profile.email,
        "first_name": user.profile.first_name,
        "last_name": user.profile.last_name,
        "created_at": user.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": user.updated_at.isoformat().replace("+00:00", "Z"),
    }


def token_body(token: IssuedToken) -> dict[str, Any]:
    return {
        "token": token.token,
        "access_token": token.token,
        "token_type": "bearer",
        "expires_in": token.expires_in,
    }


def load_all_problems(
    schema: Schema, data: Any, rules: Callable[[Mapping[str, object]], dict[str, list[str]]]
) -> dict[str, Any]:
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


async def register_account(
    request: web.Request, schema: Schema, handler: RegisterUserHandler, limit: RegistrationLimit
) -> Registered:
    """Both faces' registration: the per-address limit, every problem at once, the use case."""
    await limit.check(client_address(request))
    body = load_all_problems(schema, await read_json(request), handler.problems)
    return await handler(RegisterUser(**body))


@routes.post("/api/register")
@inject
async def register(
    request: web.Request,
    handler: RegisterUserHandler = Provide[Container.register_user],
    limit: RegistrationLimit = Provide[Container.registration_limit],
) -> web.Response:
    result = await register_account(request, _register, handler, limit)
    return json_response(
        {
            "status": "User created successfully",
            "user": profile_body(result.user),
            **token_body(result.token),
        }
    )


@routes.post("/api/login")
@inject
async def login(
    request: web.Request, handler: LoginHandler = Provide[Container.login]
) -> web.Response:
    body = _login.load(await read_json(request))
    token = await handler(Login(body["username"], body["password"], client_address(request)))
    return json_response(token_body(token))


@routes.post("/api/logout")
@inject
async def logout(
    request: web.Request, handler: LogoutHandler = Provide[Container.logout]
) -> web.Response:
    await handler(Logout(current_session(request)))
    return web.Response(status=204)


@routes.get("/api/users/me")
@inject
async def get_me(
    request: web.Request, handler: GetProfileHandler = Provide[Container.get_profile]
) -> web.Response:
    user = await handler(GetProfile(current_session(request)))
    return json_response(profile_body(user))


async def update_profile(
    request: web.Request,
    handler: UpdateProfileHandler,
    schema: Schema,
    resent_password_is_no_change: bool = False,
) -> ProfileUpdated:
    """The update of both faces: `schema` says which fields this face takes."""
    body = load_all_problems(schema, await read_json(request), handler.problems)
    if not body.keys() - {"current_password"}:
        names = ", ".join(name for name in schema.fields if name != "current_password")
        raise BadRequest("nothing_to_update", f"send at least one of {names}")
    command = UpdateProfile(
        session=current_session(request),
        fields=frozenset(body),
        resent_password_is_no_change=resent_password_is_no_change,
        **body,
    )
    return await handler(command)


@inject
async def update_me(
    request: web.Request, handler: UpdateProfileHandler = Provide[Container.update_profile]
) -> web.Response:
    result = await update_profile(request, handler, _update)
    response = profile_body(result.user)
    if result.token is not None:
        response.update(token_body(result.token))
    return json_response(response)


routes.patch("/api/users/me")(update_me)
routes.put("/api/users/me")(update_me)


@routes.delete("/api/users/me")
@inject
async def delete_me(
    request: web.Request, handler: DeleteAccountHandler = Provide[Container.delete_account]
) -> web.Response:
    await handler(DeleteAccount(current_session(request)))
    return web.Response(status=204)
