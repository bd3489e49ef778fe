"""SIGKILL of Tarantool under write load: no acknowledged batch lost, none half applied; pairs
written with a ttl and overwritten keep their versions and expiry, and the user's revision
goes on from where it was."""

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import unique_name
from tests.support.batches import BatchWriter, find_batch_problems, register
from tests.support.server import ApiProcess
from tests.support.tarantool import TarantoolProcess

# Slow: kills Tarantool with SIGKILL mid-load and restarts it.
pytestmark = pytest.mark.slow

PASSWORD = "correct-horse-9"
Crash = Callable[[BatchWriter], Awaitable[None]]
VERSIONED = [f"versioned-{i:02d}" for i in range(20)]
INCLUDE = ["version", "expires_at"]


async def _post(http: aiohttp.ClientSession, url: str, token: str, body: Any) -> Any:
    async with http.post(url, json=body, headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def _write_versioned(http: aiohttp.ClientSession, base: str, token: str) -> tuple[int, Any]:
    """Three rounds over the same keys with a ttl (one key with its own, one without any in the
    last round): versions 3. Answers the last revision and what a read with meta shows."""
    for round_ in range(3):
        body: dict[str, Any] = {"data": {key: {"round": round_} for key in VERSIONED}, "ttl": 3600}
        if round_ == 2:
            body["ttls"] = {VERSIONED[0]: 7200}
            body["data"].pop(VERSIONED[-1])
            await _post(http, f"{base}/api/write", token, {"data": {VERSIONED[-1]: "no ttl"}})
        revision = (await _post(http, f"{base}/api/write", token, body))["revision"]
    read = await _post(http, f"{base}/api/read", token, {"keys": VERSIONED, "include": INCLUDE})
    meta = read["meta"]
    assert {m["version"] for m in meta.values()} == {3}
    assert meta[VERSIONED[-1]]["expires_at"] is None
    assert meta[VERSIONED[0]]["expires_at"] > meta[VERSIONED[1]]["expires_at"]
    return int(revision), read


async def _check_versioned(
    http: aiohttp.ClientSession, base: str, token: str, revision: int, before: Any
) -> None:
    read = await _post(http, f"{base}/api/read", token, {"keys": VERSIONED, "include": INCLUDE})
    assert read == before, "versions or expiry changed across the crash"
    written = await _post(http, f"{base}/api/write", token, {"data": {VERSIONED[1]: "after"}})
    assert written["revision"] == revision + 1, "the revision did not survive the crash"
    meta = await _post(
        http, f"{base}/api/read", token, {"keys": [VERSIONED[1]], "include": INCLUDE}
    )
    assert meta["meta"] == {VERSIONED[1]: {"version": 4, "expires_at": None}}


async def _write_through_a_crash(api: ApiProcess, crash: Crash) -> None:
    async with aiohttp.ClientSession() as http:
        token = await register(http, api.base, unique_name(), PASSWORD)
        owner = await register(http, api.base, unique_name(), PASSWORD)
        revision, versioned = await _write_versioned(http, api.base, owner)
        writer = BatchWriter(http, api.base, token)
        async with writer.running(writers=4):
            await writer.wait(acked=150)
            await crash(writer)
            await writer.wait(acked=len(writer.log.acked) + 150)
        problems = await find_batch_problems(http, api.base, token, writer.log)
        await _check_versioned(http, api.base, owner, revision, versioned)
    log = writer.log
    assert log.unexpected == [], "every failure during the outage must be a proper 503"
    assert log.unavailable > 0, "the crash never showed: the test proved nothing"
    assert problems == []


def _managed_tarantool_pid(data_dir: Path) -> int:
    return int((data_dir / "tarantool" / "tarantool.pid").read_text().strip())


async def _wait_for_new_pid(data_dir: Path, old: int, timeout: float = 30.0) -> int:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            pid = _managed_tarantool_pid(data_dir)
        except (OSError, ValueError):
            pid = old
        if pid != old:
            return pid
        assert asyncio.get_running_loop().time() < deadline, "tarantool was not restarted"
        await asyncio.sleep(0.05)


async def test_managed_tarantool_killed_mid_load_is_restarted_and_loses_nothing(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"
    api = await asyncio.to_thread(ApiProcess(data_dir).start)

    async def kill_child(writer: BatchWriter) -> None:
        old = _managed_tarantool_pid(data_dir)
        os.kill(old, signal.SIGKILL)
        await writer.wait(unavailable=1)
        await _wait_for_new_pid(data_dir, old)

    try:
        await _write_through_a_crash(api, kill_child)
    finally:
        code = await asyncio.to_thread(api.stop)
    assert code == 0
    log = api.log()
    assert "managed tarantool exited (code -9); restarting in 0.5s" in log
    assert "Traceback" not in log


async def test_external_tarantool_killed_mid_load_loses_nothing(tmp_path: Path) -> None:
    server = TarantoolProcess(tmp_path / "tt").start()
    env = {
        "KV_TARANTOOL_URI": f"127.0.0.1:{server.port}",
        "KV_TARANTOOL_USER": server.user,
        "KV_TARANTOOL_PASSWORD": server.password,
    }
    api = await asyncio.to_thread(ApiProcess(tmp_path / "var", env=env).start)

    async def kill_and_restart(writer: BatchWriter) -> None:
        await asyncio.to_thread(server.kill)
        await writer.wait(unavailable=5)
        await asyncio.to_thread(server.start)

    try:
        await _write_through_a_crash(api, kill_and_restart)
    finally:
        code = await asyncio.to_thread(api.stop)
        server.stop()
    assert code == 0
    assert "Traceback" not in api.log()
