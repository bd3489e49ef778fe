"""The /users routes older user-management clients call: the same handlers, accounts and tokens
as /api, in the envelopes those clients expect. Their documentation answers 422 where /api
answers 400, so a request this face cannot take is 422 with the same JSON error body."""

from collections.abc import Awaitable, Callable
from datetime import UTC

from aiohttp import web
from dependency_injector.wiring import Provide, inject
from marshmallow import ValidationError

from kv_api.application.users.commands import DeleteAccount, GetProfile, Login, Logout
from kv_api.application.users.delete_account import DeleteAccountHandler
from kv_api.application.users.login import LoginHandler
from kv_api.application.users.logout import LogoutHandler
from kv_api.application.users.profile import GetProfileHandler, UpdateProfileHandler
from kv_api.application.users.register import RegisterUserHandler
from kv_api.application.users.registration_limit import RegistrationLimit
from kv_api.domain.errors import DomainError
from kv_api.domain.users import User
from kv_api.presentation.container import Container
from kv_api.presentation.http.auth import current_session
from kv_api.presentation.http.errors import response_for
from kv_api.presentation.http.json import json_response, read_json
from kv_api.presentation.http.problems import BadRequest
from kv_api.presentation.http.schemas import LoginRequest
from kv_api.presentation.http.users_face_schemas import (
    REGISTRATION_DATE_FORMAT,
    UsersRegisterRequest,
    UsersUpdateRequest,
)
from kv_api.presentation.routes.users import (
    client_address,
    register_account,
    update_profile,
)

Handler = Callable[[web.Request], Awaitable[web.Response]]
routes = web.RouteTableDef()
_register = UsersRegisterRequest()
_login = LoginRequest()
_update = UsersUpdateRequest()
NO_CONTENT = 204


def unprocessable(handler: Handler) -> Handler:
    """The answer /api gives a request it cannot take, with 422 instead of 400."""

    async def face(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except (ValidationError, DomainError, BadRequest) as exc:
            response = response_for(exc)
            assert response is not None  # never a redirect
            if response.status == 400:
                response.set_status(422)
            return response

    return face


def account_body(user: User) -> dict[str, str | None]:
    return {"username": user.username, "email": user.profile.email}


def profile_body(user: User) -> dict[str, str | None]:
    registered = user.created_at.astimezone(UTC).strftime(REGISTRATION_DATE_FORMAT)
    return {**account_body(user), "registration_date": registered}


def token_body(token: str) -> dict[str, str]:
    return {"access_token": token, "token_type": "bearer"}


@inject
async def register(
    request: web.Request,
    handler: RegisterUserHandler = Provide[Container.register_user],
    limit: RegistrationLimit = Provide[Container.registration_limit],
) -> web.Response:
    result = await register_account(request, _register, handler, limit)
    return json_response({"data": account_body(result.user), **token_body(result.token.token)})


@inject
async def login(
    request: web.Request, handler: LoginHandler = Provide[Container.login]
) -> web.Response:
    body = _login.load(await read_json(request))
    token = await handler(Login(body["username"], body["password"], client_address(request)))
    return json_response(token_body(token.token))


@inject
async def logout(
    request: web.Request, handler: LogoutHandler = Provide[Container.logout]
) -> web.Response:
    await handler(Logout(current_session(request)))
    return web.Response(status=NO_CONTENT)


@inject
async def get_account(
    request: web.Request, handler: GetProfileHandler = Provide[Container.get_profile]
) -> web.Response:
    return json_response(profile_body(await handler(GetProfile(current_session(request)))))


@inject
async def update_account(
    request: web.Request, handler: UpdateProfileHandler = Provide[Container.update_profile]
) -> web.Response:
    result = await update_profile(request, handler, _update, resent_password_is_no_change=True)
    answer: dict[str, object] = {"data": profile_body(result.user)}
    if result.token is not None:
        answer.update(token_body(result.token.token))
    return json_response(answer)


@inject
async def delete_account(
    request: web.Request, handler: DeleteAccountHandler = Provide[Container.delete_account]
) -> web.Response:
    await handler(DeleteAccount(current_session(request)))
    return web.Response(status=NO_CONTENT)


routes.post("/users/register")(unprocessable(register))
routes.post("/users/login")(unprocessable(login))
routes.post("/users/logout")(logout)
routes.get("/users")(get_account)
routes.put("/users")(unprocessable(update_account))
routes.delete("/users")(delete_account)
