"""Older clients' account requests, with their bodies exactly as their documents write them."""

from typing import Any

from kv_api.presentation.app import CONTAINER
from tests.e2e.conftest import Client, bearer

JSON = {"Content-Type": "application/json"}

ADMIN_CLIENT_LOGIN = b"""{
  "username": "admin",
  "password": "presale"
}"""
PLAIN_CLIENT_CREDENTIALS = b'{"username": "new_user", "password": "new_password"}'
USER_MANAGEMENT_CLIENT_REGISTER = b"""{
 "username": "exampleUser",
 "password": "examplePassword",
 "email": "example@example.com"
}"""
USER_MANAGEMENT_CLIENT_LOGIN = b"""{
 "username": "exampleUser",
 "password": "examplePassword"
}"""
USER_MANAGEMENT_CLIENT_UPDATE = b"""{
 "password": "examplePassword",
 "email": "example@example.com"
}"""


async def forget_user(api: Client, username: str) -> None:
    """These clients use fixed names; start from a clean slate in the shared test Tarantool."""
    await api.app[CONTAINER].users().delete_by_username(username.casefold())


async def post(api: Client, path: str, raw: bytes, **headers: str) -> tuple[int, Any]:
    resp = await api.post(path, data=raw, headers={**JSON, **headers})
    return resp.status, await resp.json()


async def test_admin_logs_in_with_the_bootstrap_user(make_api: Any) -> None:
    await forget_user(await make_api(), "admin")
    api = await make_api(bootstrap_user=("admin", "presale"))
    status, body = await post(api, "/api/login", ADMIN_CLIENT_LOGIN)
    assert status == 200, body
    assert isinstance(body["token"], str)
    resp = await api.get("/api/users/me", headers=bearer(body["token"]))
    assert (await resp.json())["username"] == "admin"


async def test_register_then_login_with_plain_bodies(api: Client) -> None:
    await forget_user(api, "new_user")
    status, body = await post(api, "/api/register", PLAIN_CLIENT_CREDENTIALS)
    assert status == 200, body
    assert body["status"] == "User created successfully"

    status, again = await post(api, "/api/register", PLAIN_CLIENT_CREDENTIALS)
    assert status == 409 and again["error"]["code"] == "username_taken"

    status, body = await post(api, "/api/login", PLAIN_CLIENT_CREDENTIALS)
    assert status == 200
    token = body["token"]  # the Windows example reads `$response.token`
    write = await api.post(
        "/api/write",
        data=b'{"data": {"key1": "value1", "key2": "value2", "key3": 1}}',
        headers={**JSON, "Authorization": f"Bearer {token}"},
    )
    assert write.status == 200


async def test_missing_credentials_is_400(api: Client) -> None:
    for raw in (b'{"username": "new_user"}', b'{"password": "new_password"}', b"{}"):
        status, body = await post(api, "/api/register", raw)
        assert status == 400
        assert body["error"]["code"] == "validation_error"


async def test_account_with_names_and_logout(api: Client) -> None:
    await forget_user(api, "Ivan-Petrov")
    raw = (
        '{"username": "Ivan-Petrov", "password": "Str0ng!Pass", '
        '"first_name": "Иван", "last_name": "Петров-Водкин"}'
    ).encode()
    status, body = await post(api, "/api/register", raw)
    assert status == 200, body
    assert (body["user"]["first_name"], body["user"]["last_name"]) == ("Иван", "Петров-Водкин")

    logout = await api.post("/api/logout", headers=bearer(body["token"]))
    assert logout.status == 204
    again = await api.post("/api/logout", headers=bearer(body["token"]))
    assert again.status == 401
    anonymous = await api.post("/api/logout")
    assert anonymous.status == 401
    assert (await anonymous.json())["error"]["code"] == "unauthorized"


async def test_user_management_flow_with_a_bare_token(api: Client) -> None:
    await forget_user(api, "exampleUser")
    status, body = await post(api, "/api/register", USER_MANAGEMENT_CLIENT_REGISTER)
    assert status == 200, body
    assert body["token_type"] == "bearer" and body["access_token"]
    assert (body["user"]["username"], body["user"]["email"]) == (
        "exampleUser",
        "example@example.com",
    )

    status, body = await post(api, "/api/login", USER_MANAGEMENT_CLIENT_LOGIN)
    assert status == 200
    assert body["token_type"] == "bearer"
    token = body["access_token"]

    for authorization in (f"Bearer {token}", token):
        resp = await api.put(
            "/api/users/me",
            data=USER_MANAGEMENT_CLIENT_UPDATE,
            headers={**JSON, "Authorization": authorization},
        )
        assert resp.status == 400
        assert set((await resp.json())["error"]["fields"]) == {"current_password"}
        me = await api.get("/api/users/me", headers={"Authorization": authorization})
        assert (await me.json())["email"] == "example@example.com"

    assert (await api.post("/api/logout", headers={"Authorization": token})).status == 204
    status, body = await post(api, "/api/login", USER_MANAGEMENT_CLIENT_LOGIN)
    assert status == 200
    deleted = await api.delete("/api/users/me", headers={"Authorization": body["access_token"]})
    assert deleted.status == 204
    status, _ = await post(api, "/api/login", USER_MANAGEMENT_CLIENT_LOGIN)
    assert status == 401
