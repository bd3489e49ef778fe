"""KV_READ_FROM_REPLICAS: reads and key listings go to a live replica, writes to the primary."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.presentation.app import CONTAINER, create_app
from tests.conftest import settings_for
from tests.e2e.conftest import PASSWORD, Client, bearer, register
from tests.support.batches import problem_in_503
from tests.support.replica import ReplicaProcess, connect, set_upstream, wait_caught_up
from tests.support.tarantool import TarantoolProcess


@dataclass
class Cluster:
    primary: TarantoolProcess
    replica: ReplicaProcess
    primary_conn: TarantoolClient
    replica_conn: TarantoolClient
    api: Client

    async def caught_up(self) -> None:
        await wait_caught_up(self.primary_conn, self.replica_conn)


@pytest.fixture
async def cluster(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[Cluster]:
    primary = TarantoolProcess(tmp_path / "primary").start()
    replica = ReplicaProcess(tmp_path / "replica", primary)
    conns = [connect(primary), connect(replica)]
    try:
        await asyncio.to_thread(replica.start)
        for conn in conns:
            assert await conn.wait_connected(10.0)
        settings = settings_for(
            primary, tmp_path / "data", replicas=(replica.address,), read_from_replicas=True
        )
        api = await aiohttp_client(create_app(settings))
        await _until_replica_client_connected(api)
        yield Cluster(primary, replica, conns[0], conns[1], api)
    finally:
        for conn in conns:
            await conn.close()
        replica.stop()
        primary.stop()


async def _until_replica_client_connected(api: Client, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not api.server.app[CONTAINER].storage().replicas[0].connected:
        assert asyncio.get_running_loop().time() < deadline, "the API never reached the replica"
        await asyncio.sleep(0.05)


async def _until_ready(api: Client, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await api.get("/ready")).status != 200:
        assert asyncio.get_running_loop().time() < deadline, "the primary never came back"
        await asyncio.sleep(0.1)


async def _call(api: Client, path: str, auth: dict[str, str], body: Any = None) -> Any:
    resp = await (api.post(path, json=body, headers=auth) if body else api.get(path, headers=auth))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_reads_are_served_by_the_replica_and_lag_behind_the_primary(
    cluster: Cluster,
) -> None:
    api = cluster.api
    user = await register(api)
    auth = bearer(user["token"])
    await _call(api, "/api/write", auth, {"data": {"k": "old"}})
    await cluster.caught_up()

    await set_upstream(cluster.replica_conn, None)
    await _call(api, "/api/write", auth, {"data": {"k": "new", "k2": 2}})
    stale = await _call(api, "/api/read", auth, {"keys": ["k", "k2"]})
    assert stale == {"data": {"k": "old"}, "not_found": ["k2"]}, "read did not use the replica"
    assert (await _call(api, "/api/keys", auth))["keys"] == ["k"]

    newcomer = bearer((await register(api))["token"])
    await _call(api, "/api/write", newcomer, {"data": {"mine": True}})
    fallback = await _call(api, "/api/read", newcomer, {"keys": ["mine"]})
    assert fallback["data"] == {"mine": True}, "unknown session on the replica: primary answers"

    assert (await api.post("/api/logout", headers=auth)).status == 204
    assert (await api.post("/api/write", json={"data": {"x": 1}}, headers=auth)).status == 401
    lagging = await _call(api, "/api/read", auth, {"keys": ["k"]})
    assert lagging["data"] == {"k": "old"}, "a revoked token still reads from a lagging replica"

    await set_upstream(cluster.replica_conn, cluster.replica.upstream)
    await cluster.caught_up()
    assert (await api.post("/api/read", json={"keys": ["k"]}, headers=auth)).status == 401
    login = await api.post("/api/login", json={"username": user["username"], "password": PASSWORD})
    fresh = bearer((await login.json())["token"])
    current = await _call(api, "/api/read", fresh, {"keys": ["k", "k2"]})
    assert current["data"] == {"k": "new", "k2": 2}


async def test_reads_survive_a_dead_primary_and_skip_a_dead_replica(cluster: Cluster) -> None:
    api = cluster.api
    auth = bearer((await register(api))["token"])
    await _call(api, "/api/write", auth, {"data": {"k": [1, {"v": 2.5}]}})
    await cluster.caught_up()

    await asyncio.to_thread(cluster.primary.kill)
    assert (await _call(api, "/api/read", auth, {"keys": ["k"]}))["data"] == {"k": [1, {"v": 2.5}]}
    assert (await _call(api, "/api/keys", auth))["keys"] == ["k"]
    write = await api.post("/api/write", json={"data": {"k2": 2}}, headers=auth)
    assert await problem_in_503(write) is None

    await asyncio.to_thread(cluster.primary.start)
    await asyncio.to_thread(cluster.replica.kill)
    await _until_ready(api)
    await _call(api, "/api/write", auth, {"data": {"k2": 2}})
    both = await _call(api, "/api/read", auth, {"keys": ["k", "k2"]})
    assert both["data"] == {"k": [1, {"v": 2.5}], "k2": 2}, "the primary answers for a dead replica"
