from datetime import datetime
from typing import Any

import pytest

from tests.e2e.conftest import NOTHING_STORED, PASSWORD, Client, bearer, register

NEW_PASSWORD = "brand-new-secret-7"


async def login(api: Client, username: str, password: str = PASSWORD) -> str:
    resp = await api.post("/api/login", json={"username": username, "password": password})
    assert resp.status == 200, await resp.text()
    token: str = (await resp.json())["token"]
    return token


async def assert_unauthorized(api: Client, token: str) -> None:
    for method, path, body in (
        ("GET", "/api/users/me", None),
        ("PATCH", "/api/users/me", {"first_name": "Eve"}),
        ("POST", "/api/read", {"keys": ["k"]}),
        ("POST", "/api/write", {"data": {"k": 1}}),
        ("POST", "/api/logout", None),
    ):
        resp = await api.request(method, path, json=body, headers=bearer(token))
        assert resp.status == 401, (method, path, await resp.text())
        assert resp.headers["WWW-Authenticate"] == "Bearer"
        assert (await resp.json())["error"]["code"] == "invalid_token"


async def me(api: Client, token: str) -> dict[str, Any]:
    resp = await api.get("/api/users/me", headers=bearer(token))
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def update(
    api: Client, token: str, body: Any, method: str = "PATCH"
) -> tuple[int, dict[str, Any]]:
    resp = await api.request(method, "/api/users/me", json=body, headers=bearer(token))
    assert resp.content_type == "application/json"
    return resp.status, await resp.json()


async def test_get_me_returns_the_profile(api: Client) -> None:
    reply = await register(api, email="me@example.org", last_name="Doe")
    assert await me(api, reply["token"]) == {**reply["user"], "usage": NOTHING_STORED}


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
async def test_update_changes_only_the_given_fields(api: Client, method: str) -> None:
    reply = await register(api, email="old@example.org", first_name="Old")
    status, body = await update(
        api, reply["token"], {"first_name": "José", "last_name": "da Silva"}, method
    )
    assert status == 200
    assert body["email"] == "old@example.org"
    assert (body["first_name"], body["last_name"]) == ("José", "da Silva")
    assert "token" not in body
    assert datetime.fromisoformat(body["updated_at"]) >= datetime.fromisoformat(body["created_at"])
    assert await me(api, reply["token"]) == {**body, "usage": NOTHING_STORED}


async def test_null_clears_a_field(api: Client) -> None:
    reply = await register(api, email="gone@example.org", first_name="Kept")
    status, body = await update(api, reply["token"], {"email": None})
    assert status == 200
    assert (body["email"], body["first_name"]) == (None, "Kept")
    assert (await me(api, reply["token"]))["email"] is None


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({}, "nothing_to_update", None),
        ({"current_password": PASSWORD}, "nothing_to_update", None),
        ({"role": "admin"}, "validation_error", {"role"}),
        ({"username": "rename"}, "validation_error", {"username"}),
        ({"email": "bad", "first_name": ""}, "validation_error", {"email", "first_name"}),
        ({"email": 7, "last_name": "9"}, "validation_error", {"email", "last_name"}),
        ({"password": None}, "validation_error", {"password"}),
        ({"password": "short", "current_password": PASSWORD}, "validation_error", {"password"}),
        ({"email": "\udfff@example.org"}, "validation_error", {"email"}),
        (
            {"password": "lone\ud800surrogate", "current_password": "\udfff"},
            "validation_error",
            {"password", "current_password"},
        ),
        ([{"email": "a@b.co"}], "validation_error", {"_schema"}),
    ],
)
async def test_invalid_update_is_400(
    api: Client, auth: dict[str, str], body: Any, code: str, fields: set[str] | None
) -> None:
    resp = await api.patch("/api/users/me", json=body, headers=auth)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["code"] == code
    assert (set(error["fields"]) if "fields" in error else None) == fields


async def test_update_with_non_json_body_is_400(api: Client, auth: dict[str, str]) -> None:
    resp = await api.put("/api/users/me", data=b"email=x", headers=auth)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_json"


async def test_password_change_needs_current_password(api: Client, user: dict[str, Any]) -> None:
    status, body = await update(api, user["token"], {"password": NEW_PASSWORD})
    assert status == 400
    assert set(body["error"]["fields"]) == {"current_password"}

    status, body = await update(
        api, user["token"], {"password": NEW_PASSWORD, "current_password": "wrong-password"}
    )
    assert status == 403
    assert body["error"]["code"] == "wrong_current_password"
    await login(api, user["username"])
    assert (await me(api, user["token"]))["username"] == user["username"]


async def test_new_password_must_not_equal_the_username(api: Client, user: dict[str, Any]) -> None:
    status, body = await update(
        api,
        user["token"],
        {"password": user["username"].upper(), "current_password": PASSWORD},
    )
    assert status == 400
    assert body["error"]["fields"] == {"password": ["must not equal the username"]}


async def test_password_change_revokes_every_earlier_token(
    api: Client, user: dict[str, Any]
) -> None:
    first = user["token"]
    second = await login(api, user["username"])
    status, body = await update(
        api,
        first,
        {"password": NEW_PASSWORD, "current_password": PASSWORD, "first_name": "Ann"},
        "PUT",
    )
    assert status == 200
    assert body["first_name"] == "Ann"
    assert body["token"] == body["access_token"]
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    fresh = body["token"]

    await assert_unauthorized(api, first)
    await assert_unauthorized(api, second)
    assert (await me(api, fresh))["first_name"] == "Ann"

    old = await api.post("/api/login", json={"username": user["username"], "password": PASSWORD})
    assert old.status == 401
    await me(api, await login(api, user["username"], NEW_PASSWORD))


async def test_logout_revokes_only_that_token(api: Client, user: dict[str, Any]) -> None:
    other = await login(api, user["username"])
    resp = await api.post("/api/logout", headers=bearer(user["token"]))
    assert resp.status == 204
    assert await resp.read() == b""

    await assert_unauthorized(api, user["token"])
    assert (await me(api, other))["username"] == user["username"]
    read = await api.post("/api/read", json={"keys": ["k"]}, headers=bearer(other))
    assert read.status == 200


async def test_logout_without_a_token_is_401(api: Client) -> None:
    resp = await api.post("/api/logout")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"


async def test_delete_account_removes_user_tokens_and_keys(api: Client) -> None:
    reply = await register(api)
    name, first = reply["username"], reply["token"]
    second = await login(api, name)
    written = await api.post(
        "/api/write", json={"data": {"secret": "old", "nested": {"a": [1]}}}, headers=bearer(first)
    )
    assert written.status == 200

    resp = await api.delete("/api/users/me", headers=bearer(first))
    assert resp.status == 204
    await assert_unauthorized(api, first)
    await assert_unauthorized(api, second)
    gone = await api.post("/api/login", json={"username": name, "password": PASSWORD})
    assert gone.status == 401

    again = await register(api, name.upper(), password="another-password-1")
    token = bearer(again["token"])
    read = await api.post("/api/read", json={"keys": ["secret", "nested"]}, headers=token)
    assert await read.json() == {"data": {}, "not_found": ["secret", "nested"]}
    keys = await api.get("/api/keys", headers=token)
    assert (await keys.json())["keys"] == []


async def test_delete_twice_is_401(api: Client, auth: dict[str, str]) -> None:
    assert (await api.delete("/api/users/me", headers=auth)).status == 204
    resp = await api.delete("/api/users/me", headers=auth)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"


async def test_me_routes_reject_other_methods(api: Client, auth: dict[str, str]) -> None:
    resp = await api.post("/api/users/me", json={}, headers=auth)
    assert resp.status == 405
    assert (await resp.json())["error"]["code"] == "method_not_allowed"
