import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from tests.conftest import unique_name
from tests.e2e.conftest import PASSWORD, Client, bearer, register

LIMITED = {"login_max_failures": 3, "login_window": 60}
Login = Callable[..., Awaitable[tuple[int, dict[str, str], Any]]]


def fresh_address() -> str:
    """A loopback source address of its own, so address counters never mix between tests."""
    return "127.{}.{}.{}".format(*(random.randint(1, 254) for _ in range(3)))


@pytest.fixture
async def login_from() -> AsyncIterator[Login]:
    """POST /api/login from a chosen loopback address: the server sees it as the client."""
    sessions: dict[str, aiohttp.ClientSession] = {}

    async def login(
        api: Client, username: str, password: str, address: str | None = None
    ) -> tuple[int, dict[str, str], Any]:
        address = address or fresh_address()
        if address not in sessions:
            connector = aiohttp.TCPConnector(local_addr=(address, 0))
            sessions[address] = aiohttp.ClientSession(connector=connector)
        url = api.make_url("/api/login")
        body = {"username": username, "password": password}
        async with sessions[address].post(url, json=body) as resp:
            return resp.status, dict(resp.headers), await resp.json()

    yield login
    for session in sessions.values():
        await session.close()


async def test_login_returns_a_bearer_token(api: Client, user: dict[str, Any]) -> None:
    resp = await api.post("/api/login", json={"username": user["username"], "password": PASSWORD})
    assert resp.status == 200
    body = await resp.json()
    assert set(body) == {"token", "access_token", "token_type", "expires_in"}
    assert body["token"] == body["access_token"] != user["token"]
    assert (body["token_type"], body["expires_in"]) == ("bearer", 1800)
    me = await api.get("/api/users/me", headers=bearer(body["token"]))
    assert (await me.json())["username"] == user["username"]


async def test_login_username_is_case_insensitive(api: Client) -> None:
    name = unique_name("CamelCase")
    await register(api, name)
    resp = await api.post("/api/login", json={"username": name.lower(), "password": PASSWORD})
    assert resp.status == 200
    me = await api.get("/api/users/me", headers=bearer((await resp.json())["token"]))
    assert (await me.json())["username"] == name


async def test_unknown_user_and_wrong_password_look_the_same(
    api: Client, user: dict[str, Any]
) -> None:
    wrong = await api.post("/api/login", json={"username": user["username"], "password": "nope"})
    unknown = await api.post("/api/login", json={"username": unique_name(), "password": "nope"})
    assert wrong.status == unknown.status == 401
    assert await wrong.json() == await unknown.json()
    assert (await wrong.json())["error"]["code"] == "invalid_credentials"
    assert wrong.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"] == "Bearer"


async def test_password_is_case_sensitive(api: Client, user: dict[str, Any]) -> None:
    resp = await api.post(
        "/api/login", json={"username": user["username"], "password": PASSWORD.upper()}
    )
    assert resp.status == 401


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"username", "password"}),
        ({"username": "someone"}, {"password"}),
        ({"username": "", "password": ""}, {"username", "password"}),
        ({"username": None, "password": 12345678}, {"username", "password"}),
        ({"username": ["a"], "password": {"x": 1}}, {"username", "password"}),
        ({"username": "some\ud800one", "password": "x\udfffx"}, {"username", "password"}),
        ([], {"_schema"}),
        ("admin", {"_schema"}),
    ],
)
async def test_invalid_login_is_400(api: Client, body: Any, fields: set[str]) -> None:
    resp = await api.post("/api/login", json=body)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == fields


async def test_login_with_non_json_body_is_400(api: Client) -> None:
    resp = await api.post("/api/login", data=b"username=admin&password=presale")
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_json"


def assert_rate_limited(status: int, headers: dict[str, str], body: Any) -> None:
    assert status == 429, body
    assert headers["Content-Type"].startswith("application/json")
    assert body["error"]["code"] == "rate_limited"
    retry_after = headers["Retry-After"]
    assert retry_after.isdigit() and 0 < int(retry_after) <= LIMITED["login_window"]


async def test_failures_per_username_are_limited(make_api: Any, login_from: Login) -> None:
    api = await make_api(**LIMITED)
    name = (await register(api))["username"]
    for _ in range(3):
        assert (await login_from(api, name, "wrong-password"))[0] == 401
    assert_rate_limited(*await login_from(api, name, PASSWORD))
    assert_rate_limited(*await login_from(api, name.upper(), PASSWORD))
    neighbour = (await register(api))["username"]
    assert (await login_from(api, neighbour, PASSWORD))[0] == 200


async def test_failures_per_address_are_limited(make_api: Any, login_from: Login) -> None:
    api = await make_api(**LIMITED)
    name = (await register(api))["username"]
    address = fresh_address()
    for _ in range(3):
        assert (await login_from(api, unique_name(), "wrong-password", address))[0] == 401
    assert_rate_limited(*await login_from(api, name, PASSWORD, address))
    assert (await login_from(api, name, PASSWORD))[0] == 200


async def test_success_resets_the_username_counter(make_api: Any, login_from: Login) -> None:
    api = await make_api(**LIMITED)
    name = (await register(api))["username"]
    for expected in (401, 401, 200, 401, 401, 401):
        password = PASSWORD if expected == 200 else "wrong-password"
        assert (await login_from(api, name, password))[0] == expected
    assert_rate_limited(*await login_from(api, name, PASSWORD))


async def test_parallel_guesses_cannot_outrun_the_limit(make_api: Any, login_from: Login) -> None:
    api = await make_api(**LIMITED)
    name = (await register(api))["username"]
    replies = await asyncio.gather(*(login_from(api, name, f"guess-{i:04}") for i in range(12)))
    statuses = sorted(status for status, _, _ in replies)
    assert statuses == [401] * 3 + [429] * 9


async def test_unknown_usernames_are_limited_too(make_api: Any, login_from: Login) -> None:
    api = await make_api(**LIMITED)
    name = unique_name()
    for _ in range(3):
        assert (await login_from(api, name, "wrong-password"))[0] == 401
    assert_rate_limited(*await login_from(api, name, "wrong-password"))


async def test_instances_share_the_counters(make_api: Any, login_from: Login) -> None:
    first, second = await make_api(**LIMITED), await make_api(**LIMITED)
    name = (await register(first))["username"]
    for api in (first, second, first):
        assert (await login_from(api, name, "wrong-password"))[0] == 401
    assert_rate_limited(*await login_from(second, name, PASSWORD))
    assert_rate_limited(*await login_from(first, name, PASSWORD))


async def test_bootstrap_user_can_log_in(make_api: Any) -> None:
    name = unique_name("admin")
    api = await make_api(bootstrap_user=(name, "presale"))
    resp = await api.post("/api/login", json={"username": name, "password": "presale"})
    assert resp.status == 200, await resp.text()
    token = (await resp.json())["token"]
    me = await api.get("/api/users/me", headers=bearer(token))
    assert (await me.json())["username"] == name

    again = await make_api(bootstrap_user=(name, "changed-password"))
    kept = await again.post("/api/login", json={"username": name, "password": "presale"})
    assert kept.status == 200
