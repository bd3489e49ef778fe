"""SIGKILL of Tarantool under write load: no acknowledged batch lost, none half applied."""

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

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


async def _write_through_a_crash(api: ApiProcess, crash: Crash) -> None:
    async with aiohttp.ClientSession() as http:
        token = await register(http, api.base, unique_name(), PASSWORD)
        writer = BatchWriter(http, api.base, token)
        async with writer.running(writers=4):
            await writer.wait(acked=150)
            await crash(writer)
            await writer.wait(acked=len(writer.log.acked) + 150)
        problems = await find_batch_problems(http, api.base, token, writer.log)
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
