"""One account cannot take the store from the others. On a 256 MB store with every other
setting at its default, an account flooding it with 8 MB batches is stopped by its own quota
(507 `quota_exceeded`, its refused batch applied not at all), while another user's 2 MB write
and read go through."""

import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from kv_api.domain.quotas import QuotaPolicy
from kv_api.infrastructure.settings import Settings
from kv_api.presentation.app import create_app
from tests.conftest import settings_for
from tests.e2e.conftest import Client, bearer, register
from tests.support.tarantool import TarantoolProcess

# Slow: writes a few hundred MB through the API.
pytestmark = pytest.mark.slow

VALUE = "x" * 1_000_000  # just under the default 1 MiB value limit
PER_BATCH = 8  # 8 MB per request, under the default 16 MiB body limit


@pytest.fixture
def store_256(tmp_path: Path) -> Iterator[TarantoolProcess]:
    server = TarantoolProcess(tmp_path / "tt", Settings(tarantool_memory_mb=256)).start()
    yield server
    server.stop()


@pytest.fixture
async def api_256(
    aiohttp_client: Any, store_256: TarantoolProcess, tmp_path: Path
) -> AsyncIterator[Client]:
    yield await aiohttp_client(create_app(settings_for(store_256, tmp_path / "data")))


def _batch(prefix: str, number: int, size: int = PER_BATCH) -> dict[str, str]:
    return {f"{prefix}{number}-{i}": VALUE for i in range(size)}


async def _write(api: Client, auth: dict[str, str], data: dict[str, Any]) -> Any:
    body = io.BytesIO(json.dumps({"data": data}).encode())
    return await api.post(
        "/api/write", data=body, headers={**auth, "Content-Type": "application/json"}
    )


async def test_a_flood_is_stopped_by_the_flooders_own_quota(api_256: Client) -> None:
    flooder, other = await register(api_256), await register(api_256)
    flood_auth, other_auth = bearer(flooder["token"]), bearer(other["token"])
    stored: list[str] = []
    for number in range(40):  # 320 MB: past the whole store
        data = _batch("flood", number)
        resp = await _write(api_256, flood_auth, data)
        if resp.status != 200:
            break
        stored += list(data)
    else:
        raise AssertionError("a 256 MB store took 320 MB from one account")

    assert resp.status == 507, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "quota_exceeded", error
    assert "bytes" in error["message"]
    limit = QuotaPolicy().defaults
    assert error["limit"] == {"keys": limit.keys, "bytes": limit.bytes}
    assert error["usage"]["keys"] == len(stored)
    assert error["usage"]["bytes"] <= limit.bytes < error["usage"]["bytes"] + PER_BATCH * 10**6
    refused = await api_256.post("/api/read", json={"keys": list(data)}, headers=flood_auth)
    assert (await refused.json())["data"] == {}, "a refused batch must apply nothing"

    mine = _batch("other", 0, size=2)
    written = await _write(api_256, other_auth, mine)
    assert written.status == 200, await written.text()
    read = await api_256.post("/api/read", json={"keys": list(mine)}, headers=other_auth)
    assert (await read.json())["data"] == mine
    earlier = await api_256.post("/api/read", json={"keys": stored[-2:]}, headers=flood_auth)
    assert (await earlier.json())["data"] == dict.fromkeys(stored[-2:], VALUE)
