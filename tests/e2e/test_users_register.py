import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from tests.conftest import TEST_SECRET, unique_name
from tests.e2e.conftest import NOTHING_STORED, PASSWORD, Client, bearer, register

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
PROFILE_KEYS = {"username", "email", "first_name", "last_name", "created_at", "updated_at"}


def parse_utc(text: str) -> datetime:
    assert ISO_UTC.match(text), text
    return datetime.fromisoformat(text)


async def post_register(api: Client, body: Any) -> tuple[int, dict[str, Any]]:
    resp = await api.post("/api/register", json=body)
    assert resp.content_type == "application/json"
    return resp.status, await resp.json()


async def test_register_returns_profile_and_bearer_token(api: Client) -> None:
    name = unique_name()
    before = datetime.now(UTC) - timedelta(seconds=5)
    body = {
        "username": name,
        "password": PASSWORD,
        "email": "ann@example.com",
        "first_name": "Ann",
        "last_name": "O'Neil-Smith",
    }
    status, reply = await post_register(api, body)

    assert status == 200
    assert set(reply) == {"status", "user", "token", "access_token", "token_type", "expires_in"}
    assert reply["status"] == "User created successfully"
    assert reply["token"] == reply["access_token"]
    assert reply["token_type"] == "bearer"
    assert reply["expires_in"] == 1800
    user = reply["user"]
    assert set(user) == PROFILE_KEYS
    assert user["username"] == name
    assert (user["email"], user["first_name"], user["last_name"]) == (
        "ann@example.com",
        "Ann",
        "O'Neil-Smith",
    )
    created = parse_utc(user["created_at"])
    assert before <= created <= datetime.now(UTC) + timedelta(seconds=5)
    assert parse_utc(user["updated_at"]) == created
    assert "password" not in str(reply["user"]) and "argon2" not in str(reply)

    me = await api.get("/api/users/me", headers=bearer(reply["token"]))
    assert me.status == 200
    assert await me.json() == {**user, "usage": NOTHING_STORED}


async def test_register_optional_fields_default_to_null(api: Client) -> None:
    reply = await register(api)
    assert {k: reply["user"][k] for k in ("email", "first_name", "last_name")} == {
        "email": None,
        "first_name": None,
        "last_name": None,
    }


async def test_token_claims_are_pinned_hs256_with_session_ids(api: Client) -> None:
    reply = await register(api)
    token = reply["token"]
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"], issuer="kv-api")
    assert {"sub", "jti", "iat", "exp", "iss", "ver"} <= set(claims)
    assert claims["sub"].isdigit() and claims["ver"] == 0
    assert claims["exp"] - claims["iat"] == 1800
    assert abs(claims["iat"] - datetime.now(UTC).timestamp()) < 60
    login = await api.post("/api/login", json={"username": reply["username"], "password": PASSWORD})
    other = jwt.decode(
        (await login.json())["token"], TEST_SECRET, algorithms=["HS256"], issuer="kv-api"
    )
    assert other["sub"] == claims["sub"] and other["jti"] != claims["jti"]


async def test_token_lifetime_follows_the_setting(make_api: Any) -> None:
    api = await make_api(token_ttl=120)
    reply = await register(api)
    claims = jwt.decode(reply["token"], TEST_SECRET, algorithms=["HS256"], issuer="kv-api")
    assert reply["expires_in"] == 120 and claims["exp"] - claims["iat"] == 120


@pytest.mark.parametrize("spelling", [str.upper, str.lower, str.title])
async def test_username_taken_in_any_case_is_409(api: Client, spelling: Any) -> None:
    name = unique_name("Mixed")
    await register(api, name)
    status, reply = await post_register(api, {"username": spelling(name), "password": PASSWORD})
    assert status == 409
    assert reply["error"]["code"] == "username_taken"


async def test_every_bad_field_is_listed_at_once(api: Client) -> None:
    body = {
        "username": "x",
        "password": "short",
        "email": "not-an-email",
        "first_name": "R2D2",
        "last_name": "",
    }
    status, reply = await post_register(api, body)
    assert status == 400
    assert reply["error"]["code"] == "validation_error"
    fields = reply["error"]["fields"]
    assert set(fields) == set(body)
    assert fields["username"] == ["must be 2-64 characters of letters, digits, '_', '.', '-'"]
    assert fields["email"] == ["must be a valid e-mail address"]
    assert all(
        isinstance(m, list) and m and all(isinstance(x, str) for x in m) for m in fields.values()
    )


async def test_domain_only_problems_are_listed_together(api: Client) -> None:
    name = unique_name()
    body = {"username": name, "password": name, "email": "a@b", "first_name": "J0hn"}
    status, reply = await post_register(api, body)
    assert status == 400
    assert set(reply["error"]["fields"]) == {"password", "email", "first_name"}
    assert reply["error"]["fields"]["password"] == ["must not equal the username"]


@pytest.mark.parametrize(
    ("body", "bad"),
    [
        ({}, {"username", "password"}),
        ({"username": unique_name()}, {"password"}),
        ({"password": PASSWORD}, {"username"}),
        ({"username": "", "password": ""}, {"username", "password"}),
        ({"username": None, "password": None}, {"username", "password"}),
        ({"username": 12345, "password": 12345678}, {"username", "password"}),
        ({"username": ["a", "b"], "password": {"p": 1}}, {"username", "password"}),
        ({"username": True, "password": PASSWORD, "email": 5}, {"username", "email"}),
        ({"username": "has space", "password": PASSWORD}, {"username"}),
        ({"username": "üñí", "password": PASSWORD}, {"username"}),
        ({"username": "a" * 65, "password": PASSWORD}, {"username"}),
        ({"username": "ok_name\n", "password": PASSWORD}, {"username"}),
        ({"username": unique_name(), "password": "p" * 129}, {"password"}),
        ({"username": unique_name(), "password": "lone\ud800surrogate"}, {"password"}),
        ({"username": unique_name(), "password": PASSWORD, "email": "\udfff@x.org"}, {"email"}),
        ({"username": unique_name(), "password": PASSWORD, "first_name": "x" * 65}, {"first_name"}),
    ],
)
async def test_invalid_registration_is_400_naming_the_fields(
    api: Client, body: dict[str, Any], bad: set[str]
) -> None:
    status, reply = await post_register(api, body)
    assert status == 400, reply
    assert reply["error"]["code"] == "validation_error"
    assert set(reply["error"]["fields"]) == bad


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "empty_body"),
        (b"   ", "empty_body"),
        (b"username=a&password=b", "invalid_json"),
        (b'{"username": "a", ', "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b'{"username": NaN}', "invalid_json"),
    ],
)
async def test_non_json_body_is_400(api: Client, raw: bytes, code: str) -> None:
    resp = await api.post("/api/register", data=raw, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == code


@pytest.mark.parametrize("body", [[], ["username", "password"], "text", 42, None])
async def test_json_that_is_not_an_object_is_400(api: Client, body: Any) -> None:
    status, reply = await post_register(api, body)
    assert status == 400
    assert set(reply["error"]) >= {"code", "message"}


async def test_unknown_fields_are_ignored(api: Client) -> None:
    status, reply = await post_register(
        api, {"username": unique_name(), "password": PASSWORD, "role": "admin"}
    )
    assert status == 200
    assert "role" not in reply["user"]


async def test_composition_rule_is_off_by_default_and_on_by_setting(make_api: Any) -> None:
    strict = await make_api(password_composition=True)
    status, reply = await post_register(
        strict, {"username": unique_name(), "password": "alllowercase"}
    )
    assert status == 400
    assert set(reply["error"]["fields"]["password"]) == {
        "must contain an uppercase letter",
        "must contain a digit",
        "must contain a special character",
    }
    status, _ = await post_register(strict, {"username": unique_name(), "password": "Aa1!aaaa"})
    assert status == 200
    lenient = await make_api()
    status, _ = await post_register(
        lenient, {"username": unique_name(), "password": "alllowercase"}
    )
    assert status == 200


async def test_concurrent_registrations_of_one_name_create_one_user(api: Client) -> None:
    name = unique_name()
    bodies = [{"username": name if i % 2 else name.upper(), "password": PASSWORD} for i in range(6)]
    replies = await asyncio.gather(*(post_register(api, body) for body in bodies))
    assert sorted(status for status, _ in replies) == [200] + [409] * 5
