from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from kv_api.domain.quotas import QuotaPolicy
from kv_api.infrastructure.settings import Settings
from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.presentation.app import create_app
from tests.conftest import unique_name
from tests.support.tarantool import TarantoolProcess
from tests.support.watches import store_connection

PASSWORD = "correct-horse-9"
_DEFAULTS = QuotaPolicy().defaults
# the usage GET /api/users/me and GET /users show for a user who stores nothing
NOTHING_STORED = {"keys": 0, "bytes": 0, "max_keys": _DEFAULTS.keys, "max_bytes": _DEFAULTS.bytes}
Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
async def api(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> Client:
    return await aiohttp_client(create_app(make_settings()))


@pytest.fixture
def make_api(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> Callable[..., Awaitable[Client]]:
    async def make(**overrides: Any) -> Client:
        return await aiohttp_client(create_app(make_settings(**overrides)))

    return make


@pytest.fixture
async def store(tarantool: TarantoolProcess) -> AsyncIterator[TarantoolClient]:
    """The test's own connection to the Tarantool the apps under test use."""
    async with store_connection(tarantool) as client:
        yield client


async def register(
    api: Client, username: str | None = None, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    username = username or unique_name()
    resp = await api.post(
        "/api/register", json={"username": username, "password": password, **extra}
    )
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    body["username"] = username
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def user(api: Client) -> dict[str, Any]:
    return await register(api)


@pytest.fixture
def auth(user: dict[str, Any]) -> dict[str, str]:
    return bearer(user["token"])
