"""Tarantool away: every route answers 503 fast, and the same API process recovers by itself."""

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from kv_api.presentation.app import create_app
from tests.conftest import settings_for, unique_name
from tests.e2e.conftest import PASSWORD, Client, bearer, register
from tests.support.batches import problem_in_503
from tests.support.server import ApiProcess
from tests.support.tarantool import TarantoolProcess

# Slow: stops, hangs and restarts Tarantool under the API.
pytestmark = pytest.mark.slow

REQUEST_TIMEOUT = 1.0
CLIENT_TIMEOUT = REQUEST_TIMEOUT + 4.0  # generous for 2 shared cores, still far from a hang


def _routes(username: str, token: str) -> dict[str, tuple[str, str, Any, dict[str, str]]]:
    auth = bearer(token)
    return {
        "register": (
            "POST",
            "/api/register",
            {"username": unique_name(), "password": PASSWORD},
            {},
        ),
        "login": ("POST", "/api/login", {"username": username, "password": PASSWORD}, {}),
        "me": ("GET", "/api/users/me", None, auth),
        "write": ("POST", "/api/write", {"data": {"k": {"v": 1}}}, auth),
        "read": ("POST", "/api/read", {"keys": ["k"]}, auth),
        "delete": ("POST", "/api/delete", {"keys": ["k"]}, auth),
        "keys": ("GET", "/api/keys", None, auth),
        "logout": ("POST", "/api/logout", None, auth),
    }


async def _problems_per_route(api: Client, username: str, token: str) -> dict[str, str | None]:
    async def call(method: str, path: str, body: Any, headers: dict[str, str]) -> str | None:
        async with asyncio.timeout(CLIENT_TIMEOUT):
            resp = await api.request(method, path, json=body, headers=headers)
            return await problem_in_503(resp)

    routes = _routes(username, token)
    answers = await asyncio.gather(*(call(*route) for route in routes.values()))
    return dict(zip(routes, answers, strict=True))


async def _poll(api: Client, path: str, status: int, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (resp := await api.get(path)).status != status:
        assert asyncio.get_running_loop().time() < deadline, f"{path} stayed {resp.status}"
        await asyncio.sleep(0.1)


async def _assert_serving(api: Client, username: str) -> None:
    login = await api.post("/api/login", json={"username": username, "password": PASSWORD})
    assert login.status == 200, await login.text()
    auth = bearer((await login.json())["token"])
    write = await api.post("/api/write", json={"data": {"after": [1, 2.5]}}, headers=auth)
    assert write.status == 200, await write.text()
    read = await api.post("/api/read", json={"keys": ["before", "after"]}, headers=auth)
    assert (await read.json())["data"] == {"before": "kept", "after": [1, 2.5]}
    assert (await api.get("/api/users/me", headers=auth)).status == 200
    assert (await api.post("/api/logout", headers=auth)).status == 204
    await register(api)


async def _app_on(aiohttp_client: Any, server: TarantoolProcess, tmp_path: Path) -> Client:
    settings = settings_for(
        server, tmp_path / "data", request_timeout=REQUEST_TIMEOUT, connect_timeout=1.0
    )
    client: Client = await aiohttp_client(create_app(settings))
    return client


async def test_every_route_is_503_while_tarantool_is_dead_then_serves_again(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    server = TarantoolProcess(tmp_path / "tt").start()
    try:
        api = await _app_on(aiohttp_client, server, tmp_path)
        user = await register(api)
        auth = bearer(user["token"])
        assert (await api.post("/api/write", json={"data": {"before": "kept"}}, headers=auth)).ok

        await asyncio.to_thread(server.kill)
        problems = await _problems_per_route(api, user["username"], user["token"])
        assert problems == dict.fromkeys(problems)
        assert await problem_in_503(await api.get("/ready")) is None
        assert (await api.get("/health")).status == 200

        await asyncio.to_thread(server.start)
        await _poll(api, "/ready", 200)
        await _assert_serving(api, user["username"])
    finally:
        server.stop()


async def test_a_hung_tarantool_gives_503_within_the_request_timeout(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    server = TarantoolProcess(tmp_path / "tt").start()
    assert server.pid is not None
    try:
        api = await _app_on(aiohttp_client, server, tmp_path)
        user = await register(api)
        auth = bearer(user["token"])
        assert (await api.post("/api/write", json={"data": {"before": "kept"}}, headers=auth)).ok

        os.kill(server.pid, signal.SIGSTOP)
        problems = await _problems_per_route(api, user["username"], user["token"])
        assert problems == dict.fromkeys(problems)
        assert (await api.get("/ready")).status == 503

        os.kill(server.pid, signal.SIGCONT)
        await _poll(api, "/ready", 200)
        await _assert_serving(api, user["username"])
    finally:
        os.kill(server.pid, signal.SIGCONT)
        server.stop()


async def test_api_started_before_tarantool_becomes_ready_when_it_appears(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    server = TarantoolProcess(tmp_path / "tt")
    try:
        api = await _app_on(aiohttp_client, server, tmp_path)
        assert (await api.get("/health")).status == 200
        assert (await api.get("/ready")).status == 503
        body = {"username": unique_name(), "password": PASSWORD}
        assert await problem_in_503(await api.post("/api/register", json=body)) is None

        await asyncio.to_thread(server.start)
        await _poll(api, "/ready", 200)
        user = await register(api)
        auth = bearer(user["token"])
        assert (await api.post("/api/write", json={"data": {"k": 1}}, headers=auth)).ok
        read = await api.post("/api/read", json={"keys": ["k"]}, headers=auth)
        assert (await read.json())["data"] == {"k": 1}
    finally:
        server.stop()


def test_wrong_tarantool_credentials_stop_the_start_with_one_clear_line(tmp_path: Path) -> None:
    server = TarantoolProcess(tmp_path / "tt").start()
    env = {
        "KV_TARANTOOL_URI": f"127.0.0.1:{server.port}",
        "KV_TARANTOOL_USER": server.user,
        "KV_TARANTOOL_PASSWORD": "not-the-password",
        "KV_TARANTOOL_CONNECT_TIMEOUT": "1",
    }
    api = ApiProcess(tmp_path / "var", env=env).start(wait_ready=False)
    try:
        assert api.process is not None
        code = api.process.wait(timeout=30)
    finally:
        api.stop(signal.SIGKILL)
        server.stop()
    assert code == 2
    assert "refused the connection" in api.log()
    assert "KV_TARANTOOL_PASSWORD" in api.log()
    assert "Traceback" not in api.log()
    assert "Task was destroyed" not in api.log()
    promised = [line for line in api.log().splitlines() if line.startswith("kv-api: ")]
    assert len(promised) == 1 and "KV_TARANTOOL_PASSWORD" in promised[0], api.log()
