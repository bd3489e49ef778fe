from typing import Any

import pytest

from tests.e2e.conftest import Client, bearer, register
from tests.e2e.kv_helpers import error_code, post, read, write

ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/api/write", {"data": {"a": 1}}),
    ("POST", "/api/read", {"keys": ["a"]}),
    ("POST", "/api/delete", {"keys": ["a"]}),
    ("GET", "/api/keys", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Bearer not.a.jwt"}, {"X-Token": "x"}],
    ids=["none", "empty bearer", "garbage", "other header"],
)
async def test_every_data_route_needs_a_token(
    api: Client, method: str, path: str, body: Any, headers: dict[str, str]
) -> None:
    resp = await api.request(method, path, json=body, headers=headers)

    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert error_code(await resp.json())


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_token_of_a_deleted_user_is_401(
    api: Client, method: str, path: str, body: Any
) -> None:
    auth = bearer((await register(api))["token"])
    assert (await api.delete("/api/users/me", headers=auth)).status == 204

    resp = await api.request(method, path, json=body, headers=auth)

    assert resp.status == 401
    assert error_code(await resp.json())


@pytest.fixture
async def alice(api: Client) -> dict[str, str]:
    auth = bearer((await register(api))["token"])
    await write(api, auth, {"secret": "alice's", "alice/1": 1})
    return auth


@pytest.fixture
async def bob(api: Client) -> dict[str, str]:
    return bearer((await register(api))["token"])


async def test_other_user_cannot_read(
    api: Client, alice: dict[str, str], bob: dict[str, str]
) -> None:
    assert await read(api, bob, ["secret", "alice/1"]) == {
        "data": {},
        "not_found": ["secret", "alice/1"],
    }


async def test_other_user_cannot_overwrite(
    api: Client, alice: dict[str, str], bob: dict[str, str]
) -> None:
    assert (await write(api, bob, {"secret": "bob's"}, mode="insert"))["skipped"] == []
    await write(api, bob, {"secret": "bob's again"})

    assert (await read(api, alice, ["secret"]))["data"] == {"secret": "alice's"}
    assert (await read(api, bob, ["secret"]))["data"] == {"secret": "bob's again"}


async def test_other_user_cannot_list(
    api: Client, alice: dict[str, str], bob: dict[str, str]
) -> None:
    await write(api, bob, {"bob": 1})

    resp = await api.get("/api/keys", headers=bob)
    prefixed = await api.get("/api/keys", params={"prefix": "alice"}, headers=bob)

    assert await resp.json() == {"keys": ["bob"], "next": None}
    assert await prefixed.json() == {"keys": [], "next": None}


async def test_other_user_cannot_delete(
    api: Client, alice: dict[str, str], bob: dict[str, str]
) -> None:
    status, body = await post(api, "/api/delete", bob, {"keys": ["secret", "alice/1"]})

    assert (status, body) == (200, {"status": "success", "deleted": 0, "revision": 0})
    assert (await read(api, alice, ["secret", "alice/1"]))["not_found"] == []


async def test_cursor_cannot_reach_other_users_keys(
    api: Client, alice: dict[str, str], bob: dict[str, str]
) -> None:
    await write(api, bob, {"a": 1, "b": 1})

    first = await (await api.get("/api/keys", params={"limit": 1}, headers=bob)).json()
    second = await api.get("/api/keys", params={"after": first["next"]}, headers=alice)

    assert await second.json() == {"keys": ["alice/1", "secret"], "next": None}
