"""The /users routes that older user-management clients call: the request bodies exactly as
their documentation writes them, the statuses and shapes it promises, and the same accounts,
tokens and revocation as /api."""

import random
import re
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from kv_api.presentation.app import CONTAINER
from tests.conftest import unique_name
from tests.e2e.conftest import NOTHING_STORED, PASSWORD, Client, bearer, register

JSON = {"Content-Type": "application/json"}
# The clients' documentation, verbatim (its indentation included).
REGISTER = b"""{
 "username": "exampleUser",
 "password": "examplePassword",
 "email": "example@example.com"
}"""
LOGIN = b"""{
 "username": "exampleUser",
 "password": "examplePassword"
}"""
UPDATE = b"""{
 "password": "examplePassword",
 "email": "example@example.com"
}"""
USERNAME, EMAIL = "exampleUser", "example@example.com"
# "registration_date": "2023-12-01T10:03:54", as the documentation's examples write it
REGISTRATION_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
NEW_PASSWORD = "a-brand-new-password-2"


async def forget_user(api: Client, username: str) -> None:
    """The documentation uses one fixed name; start from a clean slate in the shared store."""
    await api.app[CONTAINER].users().delete_by_username(username.casefold())


async def send(
    api: Client, method: str, path: str, raw: bytes | None = None, token: str | None = None
) -> tuple[int, Any]:
    headers = dict(JSON) if raw is not None else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    resp = await api.request(method, path, data=raw, headers=headers)
    if resp.status == 204:
        assert await resp.read() == b""
        return resp.status, None
    assert resp.content_type == "application/json", await resp.text()
    return resp.status, await resp.json()


@pytest.fixture
async def example(api: Client) -> str:
    """exampleUser registered through /users/register; its token."""
    await forget_user(api, USERNAME)
    status, body = await send(api, "POST", "/users/register", REGISTER)
    assert status == 200, body
    token: str = body["access_token"]
    return token


def assert_error(status: int, body: Any, expected_status: int, code: str) -> None:
    assert status == expected_status, body
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


async def test_register_answers_the_documented_shape(api: Client) -> None:
    await forget_user(api, USERNAME)
    status, body = await send(api, "POST", "/users/register", REGISTER)
    assert status == 200, body
    assert set(body) == {"data", "access_token", "token_type"}
    assert body["data"] == {"username": USERNAME, "email": EMAIL}
    assert body["token_type"] == "bearer"
    status, profile = await send(api, "GET", "/users", token=body["access_token"])
    assert status == 200 and profile["username"] == USERNAME


async def test_register_twice_is_409(api: Client, example: str) -> None:
    status, body = await send(api, "POST", "/users/register", REGISTER)
    assert_error(status, body, 409, "username_taken")
    upper = REGISTER.replace(b"exampleUser", b"EXAMPLEUSER")
    status, body = await send(api, "POST", "/users/register", upper)
    assert_error(status, body, 409, "username_taken")


async def test_login_answers_the_documented_shape(api: Client, example: str) -> None:
    status, body = await send(api, "POST", "/users/login", LOGIN)
    assert status == 200, body
    assert set(body) == {"access_token", "token_type"}
    assert body["token_type"] == "bearer"
    status, profile = await send(api, "GET", "/users", token=body["access_token"])
    assert status == 200 and profile["username"] == USERNAME


async def test_login_with_a_wrong_password_or_unknown_user_is_one_401(
    api: Client, example: str
) -> None:
    wrong = LOGIN.replace(b"examplePassword", b"wrongPassword")
    unknown = LOGIN.replace(b"exampleUser", unique_name().encode())
    answers = [await send(api, "POST", "/users/login", raw) for raw in (wrong, unknown)]
    for status, body in answers:
        assert_error(status, body, 401, "invalid_credentials")
    assert answers[0] == answers[1]


async def test_get_answers_the_documented_shape(api: Client, example: str) -> None:
    status, body = await send(api, "GET", "/users", token=example)
    assert status == 200, body
    assert set(body) == {"username", "email", "registration_date", "usage"}
    assert set(body["usage"]) == {"keys", "bytes", "max_keys", "max_bytes"}
    assert (body["username"], body["email"]) == (USERNAME, EMAIL)
    assert REGISTRATION_DATE.match(body["registration_date"]), body
    created = (await (await api.get("/api/users/me", headers=bearer(example))).json())["created_at"]
    created_at = datetime.fromisoformat(created).astimezone(UTC)
    assert body["registration_date"] == created_at.strftime("%Y-%m-%dT%H:%M:%S")


async def test_the_documented_update_keeps_the_password_and_every_token(
    api: Client, example: str
) -> None:
    status, body = await send(api, "PUT", "/users", UPDATE, token=example)
    assert status == 200, body
    assert set(body) == {"data"}
    assert set(body["data"]) == {"username", "email", "registration_date"}
    assert (body["data"]["username"], body["data"]["email"]) == (USERNAME, EMAIL)
    assert REGISTRATION_DATE.match(body["data"]["registration_date"])
    status, _ = await send(api, "GET", "/users", token=example)
    assert status == 200  # same password: no change, so no token was revoked
    status, _ = await send(api, "POST", "/users/login", LOGIN)
    assert status == 200


async def test_update_changes_the_email(api: Client, example: str) -> None:
    raw = UPDATE.replace(b"example@example.com", b"new@example.org")
    status, body = await send(api, "PUT", "/users", raw, token=example)
    assert status == 200, body
    assert body["data"]["email"] == "new@example.org"
    status, profile = await send(api, "GET", "/users", token=example)
    assert profile["email"] == "new@example.org"


async def test_a_new_password_without_current_password_is_403(api: Client, example: str) -> None:
    raw = UPDATE.replace(b"examplePassword", NEW_PASSWORD.encode())
    status, body = await send(api, "PUT", "/users", raw, token=example)
    assert_error(status, body, 403, "current_password_required")
    status, _ = await send(api, "POST", "/users/login", LOGIN)
    assert status == 200  # the password did not change


async def test_a_wrong_current_password_is_403(api: Client, example: str) -> None:
    raw = b'{"password": "%s", "current_password": "not-the-password"}' % NEW_PASSWORD.encode()
    status, body = await send(api, "PUT", "/users", raw, token=example)
    assert_error(status, body, 403, "wrong_current_password")


async def test_a_password_change_revokes_every_earlier_token(api: Client, example: str) -> None:
    _, other = await send(api, "POST", "/users/login", LOGIN)
    raw = b'{"password": "%s", "current_password": "examplePassword"}' % NEW_PASSWORD.encode()
    status, body = await send(api, "PUT", "/users", raw, token=example)
    assert status == 200, body
    assert set(body) == {"data", "access_token", "token_type"}
    assert body["data"]["username"] == USERNAME
    for token in (example, other["access_token"]):
        status, error = await send(api, "GET", "/users", token=token)
        assert_error(status, error, 401, "invalid_token")
    status, _ = await send(api, "GET", "/users", token=body["access_token"])
    assert status == 200
    status, _ = await send(api, "POST", "/users/login", LOGIN)
    assert status == 401


async def test_logout_is_204_and_revokes_the_token_at_once(api: Client, example: str) -> None:
    _, other = await send(api, "POST", "/users/login", LOGIN)
    status, body = await send(api, "POST", "/users/logout", token=example)
    assert (status, body) == (204, None)
    for path in ("/users", "/api/users/me"):
        status, error = await send(api, "GET", path, token=example)
        assert_error(status, error, 401, "invalid_token")
    status, error = await send(api, "POST", "/users/logout", token=example)
    assert_error(status, error, 401, "invalid_token")
    status, _ = await send(api, "GET", "/users", token=other["access_token"])
    assert status == 200


async def test_delete_is_204_and_the_account_is_gone(api: Client, example: str) -> None:
    status, body = await send(api, "DELETE", "/users", token=example)
    assert (status, body) == (204, None)
    status, error = await send(api, "GET", "/users", token=example)
    assert_error(status, error, 401, "invalid_token")
    status, error = await send(api, "POST", "/users/login", LOGIN)
    assert_error(status, error, 401, "invalid_credentials")
    status, _ = await send(api, "POST", "/users/register", REGISTER)
    assert status == 200


@pytest.mark.parametrize(
    ("method", "path", "raw"),
    [
        ("GET", "/users", None),
        ("PUT", "/users", UPDATE),
        ("DELETE", "/users", None),
        ("POST", "/users/logout", None),
    ],
)
async def test_missing_or_invalid_token_is_401(
    api: Client, method: str, path: str, raw: bytes | None
) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        resp = await api.request(method, path, data=raw, headers={**JSON, **headers})
        assert resp.headers["WWW-Authenticate"] == "Bearer"
        assert_error(resp.status, await resp.json(), 401, "unauthorized")


async def test_the_bare_token_header_works(api: Client, example: str) -> None:
    resp = await api.get("/users", headers={"Authorization": example})
    assert resp.status == 200


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        (REGISTER.replace(b"exampleUser", b"example User!"), {"username"}),
        (REGISTER.replace(b"example@example.com", b"not an address"), {"email"}),
        (REGISTER.replace(b"examplePassword", b"short"), {"password"}),
        (b'{"username": "exampleUser"}', {"password"}),
        (b"[]", {"_schema"}),
    ],
)
async def test_register_with_a_bad_field_is_422(api: Client, raw: bytes, fields: set[str]) -> None:
    status, body = await send(api, "POST", "/users/register", raw)
    assert_error(status, body, 422, "validation_error")
    assert set(body["error"]["fields"]) == fields


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/users/register"), ("POST", "/users/login")]
)
async def test_a_body_that_is_not_json_is_422(api: Client, method: str, path: str) -> None:
    status, body = await send(api, method, path, b"username=exampleUser")
    assert_error(status, body, 422, "invalid_json")


@pytest.mark.parametrize(
    ("raw", "code", "fields"),
    [
        (UPDATE.replace(b"example@example.com", b"not an address"), "validation_error", {"email"}),
        (b'{"email": "a@example.org", "role": "admin"}', "validation_error", {"role"}),
        (b"{}", "nothing_to_update", None),
        (b"not json", "invalid_json", None),
    ],
)
async def test_update_with_a_bad_body_is_422(
    api: Client, example: str, raw: bytes, code: str, fields: set[str] | None
) -> None:
    status, body = await send(api, "PUT", "/users", raw, token=example)
    assert_error(status, body, 422, code)
    assert (set(body["error"]["fields"]) if "fields" in body["error"] else None) == fields


async def test_tokens_of_either_face_work_on_the_other(api: Client, example: str) -> None:
    _, login = await send(api, "POST", "/users/login", LOGIN)
    token = login["access_token"]
    written = await api.post("/api/write", json={"data": {"k": [1]}}, headers=bearer(token))
    assert written.status == 200
    read = await api.post("/api/read", json={"keys": ["k"]}, headers=bearer(token))
    assert (await read.json())["data"] == {"k": [1]}

    api_login = await api.post(
        "/api/login", json={"username": USERNAME, "password": "examplePassword"}
    )
    api_token = (await api_login.json())["token"]
    status, profile = await send(api, "GET", "/users", token=api_token)
    assert (status, profile["username"]) == (200, USERNAME)
    assert (await api.post("/api/logout", headers=bearer(api_token))).status == 204
    status, error = await send(api, "GET", "/users", token=api_token)
    assert_error(status, error, 401, "invalid_token")


async def test_accounts_of_api_register_log_in_here(api: Client) -> None:
    user = await register(api, email="both@example.org")
    raw = b'{"username": "%s", "password": "%s"}' % (user["username"].encode(), PASSWORD.encode())
    status, body = await send(api, "POST", "/users/login", raw)
    assert status == 200, body
    status, profile = await send(api, "GET", "/users", token=body["access_token"])
    assert profile == {
        "username": user["username"],
        "email": "both@example.org",
        "registration_date": profile["registration_date"],
        "usage": NOTHING_STORED,
    }


async def test_failed_logins_count_on_both_faces(make_api: Any) -> None:
    api = await make_api(login_max_failures=2, login_window=60)
    user = await register(api)
    wrong = {"username": user["username"], "password": "wrong-password"}
    address = "127.{}.{}.{}".format(*(random.randint(1, 254) for _ in range(3)))
    connector = aiohttp.TCPConnector(local_addr=(address, 0))  # its own failure counter
    async with aiohttp.ClientSession(connector=connector) as session:
        for path, expected in [
            ("/users/login", 401),
            ("/api/login", 401),
            ("/users/login", 429),
            ("/api/login", 429),
        ]:
            async with session.post(api.make_url(path), json=wrong) as resp:
                assert resp.status == expected, path
                if expected == 429:
                    assert int(resp.headers["Retry-After"]) >= 1
                    assert (await resp.json())["error"]["code"] == "rate_limited"


async def test_other_methods_are_405(api: Client, example: str) -> None:
    resp = await api.patch("/users", json={"email": "x@example.org"}, headers=bearer(example))
    assert resp.status == 405
    assert (await resp.json())["error"]["code"] == "method_not_allowed"


async def test_an_unknown_route_under_users_is_a_json_404(api: Client, example: str) -> None:
    status, body = await send(api, "GET", "/users/exampleUser", token=example)
    assert_error(status, body, 404, "not_found")


async def test_a_body_over_the_limit_is_413(make_api: Any) -> None:
    api = await make_api(max_body_bytes=1024)
    raw = REGISTER.replace(b"example@example.com", b"x" * 2048 + b"@example.com")
    status, body = await send(api, "POST", "/users/register", raw)
    assert_error(status, body, 413, "payload_too_large")


async def test_a_short_current_password_resent_is_no_change(make_api: Any) -> None:
    """The bootstrap user of `make run` has a 7-character password (set by the operator, not by
    the policy): resending it on PUT /users is still no change."""
    name = unique_name("boot")
    api = await make_api(bootstrap_user=(name, "presale"))
    login = await api.post("/users/login", json={"username": name, "password": "presale"})
    token = (await login.json())["access_token"]
    auth = bearer(token)

    same = await api.put(
        "/users", json={"password": "presale", "email": "a@example.com"}, headers=auth
    )
    assert same.status == 200, await same.text()
    assert "access_token" not in await same.json()
    other = await api.put("/users", json={"password": "short"}, headers=auth)
    assert other.status == 403
    assert (await other.json())["error"]["code"] == "current_password_required"
    wrong = await api.put(
        "/users", json={"password": "new-password-1", "current_password": "nope"}, headers=auth
    )
    assert wrong.status == 403
    weak = await api.put(
        "/users", json={"password": "short", "current_password": "presale"}, headers=auth
    )
    assert weak.status == 422
    assert "password" in (await weak.json())["error"]["fields"]
    assert (await api.get("/users", headers=auth)).status == 200  # the token still works
