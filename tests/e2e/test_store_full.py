"""A full memtx arena: writes get 507 with the JSON error body, reads, deletes and logins go on
(writes leave a reserve for them, docs/decisions/011), nothing stored is lost, every delete is in
the change log, and /metrics shows how full the store is."""

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from kv_api.infrastructure.settings import Settings
from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.presentation.app import create_app
from tests.conftest import settings_for
from tests.e2e.conftest import PASSWORD, Client, bearer, register
from tests.e2e.observability import parse_metrics, value
from tests.support.tarantool import TarantoolProcess

VALUE = "x" * (512 * 1024)
BATCH = 16
MAX_FAILURES = 5


@pytest.fixture
def small_tarantool(tmp_path: Path) -> Iterator[TarantoolProcess]:
    server = TarantoolProcess(tmp_path / "tt", Settings(tarantool_memory_mb=64)).start()
    yield server
    server.stop()


@pytest.fixture
async def small_api(
    aiohttp_client: Any, small_tarantool: TarantoolProcess, tmp_path: Path
) -> AsyncIterator[Client]:
    settings = settings_for(small_tarantool, tmp_path / "data", login_max_failures=MAX_FAILURES)
    yield await aiohttp_client(create_app(settings))


async def _fill(api: Client, auth: dict[str, str]) -> tuple[list[str], Any]:
    stored: list[str] = []
    for batch in range(64):  # 64 x 8 MiB is far beyond a 64 MiB arena
        data = {f"k{batch}-{i}": VALUE for i in range(BATCH)}
        body = io.BytesIO(json.dumps({"data": data}).encode())
        headers = {**auth, "Content-Type": "application/json"}
        resp = await api.post("/api/write", data=body, headers=headers)
        if resp.status != 200:
            return stored, resp
        stored += list(data)
    raise AssertionError("a 64 MiB arena took 512 MiB of values")


async def _fill_small_slabs(api: Client, auth: dict[str, str]) -> None:
    """Big values no longer fit; small ones may still fill partly used slabs. Batches of
    1,000, 100 then 10 small pairs take the room down close to the reserve, whatever it was,
    before single pairs fill their own slabs."""
    for size in (1000, 100, 10):
        for n in range(1000):
            data = {f"s{size}-{n}-{i}": "y" * 1000 for i in range(size)}
            resp = await api.post("/api/write", json={"data": data}, headers=auth)
            if resp.status == 507:
                break
            assert resp.status == 200
    for n in range(10_000):
        one = await api.post("/api/write", json={"data": {f"one{n}": 1}}, headers=auth)
        if one.status == 507:
            return
    raise AssertionError("small values never filled the arena")


async def _logged_changes(server: TarantoolProcess, username: str, revision: int) -> Any:
    """The change-log entries of one of the user's revisions, as {key: [op, version]}."""
    client = TarantoolClient(server.address, server.user, server.password, 5.0, 30.0)
    try:
        assert await client.wait_connected(10.0)
        return await client.eval(
            "local name, rev = ... "
            "local uid = box.space.kv_users.index.username:get(name)[1] "
            "local found = {} "
            "for _, t in box.space.kv_changes:pairs({uid, rev}) do "
            "  for _, e in ipairs(t[5]) do found[e[1]] = {e[2], e[3]} end end "
            "return found",
            [username.casefold(), revision],
        )
    finally:
        await client.close()


async def test_a_full_store_refuses_writes_with_507_and_keeps_everything(
    small_api: Client, small_tarantool: TarantoolProcess, caplog: pytest.LogCaptureFixture
) -> None:
    user = await register(small_api)
    auth = bearer(user["token"])
    stored, refused = await _fill(small_api, auth)
    assert refused.status == 507
    body = await refused.json()
    assert body["error"]["code"] == "insufficient_storage"
    assert stored, "some batches fit before the arena filled"

    await _fill_small_slabs(small_api, auth)
    login = {"username": user["username"], "password": PASSWORD}
    assert (await small_api.post("/api/login", json=login)).status == 200  # to delete data
    wrong = {"username": user["username"], "password": "wrong-pass-123"}
    assert (await small_api.post("/api/login", json=wrong)).status == 401
    fresh = {"username": user["username"] + "_2", "password": PASSWORD}
    assert (await small_api.post("/api/register", json=fresh)).status in {200, 507}
    read = await small_api.post("/api/read", json={"keys": stored[:8]}, headers=auth)
    assert read.status == 200
    assert (await read.json())["data"] == dict.fromkeys(stored[:8], VALUE)
    assert (await small_api.get("/ready")).status == 200  # full is not down: reads still work

    with caplog.at_level(logging.WARNING, logger="kv_api.store"):
        metrics = parse_metrics(await (await small_api.get("/metrics")).text())
    used = value(metrics, "kv_tarantool_memtx_quota_used_bytes")
    size = value(metrics, "kv_tarantool_memtx_quota_size_bytes")
    assert size == 64 * 1024 * 1024 and used / size > 0.85
    assert value(metrics, "kv_tarantool_memtx_arena_used_bytes") > 0
    assert value(metrics, "kv_tarantool_tuples", space="kv_data") >= len(stored)
    assert value(metrics, "kv_tarantool_checkpoint_age_seconds") >= 0
    assert any("KV_STORE_WARN_PERCENT" in r.getMessage() for r in caplog.records)

    deleted = await small_api.post("/api/delete", json={"keys": stored[:BATCH]}, headers=auth)
    assert deleted.status == 200
    answer = await deleted.json()
    assert answer["deleted"] == BATCH
    logged = await _logged_changes(small_tarantool, user["username"], answer["revision"])
    assert logged == {key: ["delete", 1] for key in stored[:BATCH]}
    for start in range(BATCH, len(stored), BATCH):  # every pair stored before is still there
        keys = stored[start : start + BATCH]
        read = await small_api.post("/api/read", json={"keys": keys}, headers=auth)
        assert read.status == 200
        assert sorted((await read.json())["data"]) == sorted(keys)
    # memtx reuses the freed room for tuples of the same size class
    again = await small_api.post("/api/write", json={"data": {"after": VALUE}}, headers=auth)
    assert again.status == 200

    await _fill_small_slabs(small_api, auth)
    statuses = [
        (await small_api.post("/api/login", json=wrong)).status for _ in range(MAX_FAILURES)
    ]
    assert statuses[-1] == 429 and set(statuses) == {401, 429}, statuses  # still throttled
