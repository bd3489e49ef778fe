"""/ready follows Tarantool: 503 while it is down, 200 again once it is back, same app."""

import asyncio
from pathlib import Path
from typing import Any

from kv_api.presentation.app import create_app
from tests.conftest import settings_for
from tests.support.tarantool import TarantoolProcess


async def _poll_ready(client: Any, status: int, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        resp = await client.get("/ready")
        if resp.status == status:
            return
        assert asyncio.get_running_loop().time() < deadline, f"/ready stayed {resp.status}"
        await asyncio.sleep(0.1)


async def test_ready_goes_503_and_back_without_restarting_the_app(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    server = TarantoolProcess(tmp_path / "tt").start()
    try:
        client = await aiohttp_client(create_app(settings_for(server, tmp_path / "data")))
        assert (await client.get("/ready")).status == 200

        server.stop()
        await _poll_ready(client, 503)
        down = await client.get("/ready")
        assert down.headers["Retry-After"] == "1"
        assert (await down.json())["error"]["code"] == "storage_unavailable"
        assert (await client.get("/health")).status == 200

        server.start()
        await _poll_ready(client, 200)
    finally:
        server.stop()
