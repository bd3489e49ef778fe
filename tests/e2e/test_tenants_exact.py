"""Usage never drifts: after a mixed run of several users (upserts, insert mode, conditional
writes and deletes, pairs expiring and purged, writes refused by a quota) through a real
`kv-api serve` that is killed with SIGKILL mid-run and started again, each user's usage equals
a full count of what the store holds for them."""

import asyncio
import random
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kv_api.infrastructure.tarantool.client import TarantoolClient
from tests.conftest import unique_name
from tests.integration.conftest import STORED_USAGE
from tests.support.server import ApiProcess, tarantool_env
from tests.support.tarantool import TarantoolProcess
from tests.support.waiting import until

# Slow: several seconds of load around a crash of the API process.
pytestmark = pytest.mark.slow

PASSWORD = "correct-horse-9"
KEYS = [f"k{i:02d}" for i in range(40)]
USAGE = (
    "local u = box.space.kv_usage:get(...) if u == nil then return {0, 0} end return {u[2], u[3]}"
)
EXPIRING = """
local uid, n = ..., 0
for _, e in box.space.kv_expiry:pairs() do if e[2] == uid then n = n + 1 end end
return n
"""


class Client:
    """One user's mixed load; every answer an expected one, or a failure of the crash."""

    def __init__(self, http: aiohttp.ClientSession, base: list[str], token: str) -> None:
        self.http, self.base, self.token = http, base, token
        self.statuses: dict[int, int] = {}
        self.failures = 0
        self.versions: dict[str, int] = {}

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with self.http.post(self.base[0] + path, json=body, headers=headers) as resp:
                self.statuses[resp.status] = self.statuses.get(resp.status, 0) + 1
                return await resp.json() if resp.status == 200 else None
        except (aiohttp.ClientError, TimeoutError):
            self.failures += 1  # the API process is down
            await asyncio.sleep(0.05)
            return None

    async def step(self, rnd: random.Random) -> None:
        keys = rnd.sample(KEYS, rnd.randint(1, 8))
        data = {k: "v" * rnd.randint(0, 300) for k in keys}
        kind = rnd.randrange(6)
        if kind == 0:
            await self.post("/api/write", {"data": data})
        elif kind == 1:
            await self.post("/api/write", {"data": data, "mode": "insert"})
        elif kind == 2:
            await self.post("/api/write", {"data": data, "ttl": 1, "ttls": {keys[0]: 2}})
        elif kind == 3:
            read = await self.post("/api/read", {"keys": keys, "include": ["version"]})
            if read is not None:
                expected = {k: read.get("meta", {}).get(k, {}).get("version", 0) for k in keys}
                expected[keys[0]] += rnd.choice([0, 0, 1])  # a third of them conflict
                body = {"data": data, "if_version": expected}
                await self.post(rnd.choice(["/api/write", "/api/delete"]), {**body, "keys": keys})
        elif kind == 4:
            await self.post("/api/delete", {"keys": keys})
        else:
            await self.post("/api/write", {"data": {k: {"n": rnd.random()} for k in keys}})

    async def run(self, seed: int, stop: asyncio.Event) -> None:
        rnd = random.Random(seed)
        while not stop.is_set():
            await self.step(rnd)


async def _register(http: aiohttp.ClientSession, base: str) -> tuple[str, str]:
    name = unique_name()
    body = {"username": name, "password": PASSWORD}
    async with http.post(base + "/api/register", json=body) as resp:
        assert resp.status == 200, await resp.text()
        return name, (await resp.json())["token"]


async def test_usage_equals_a_full_count_after_a_crash_of_the_api(
    tarantool: TarantoolProcess, store: TarantoolClient, tmp_path: Path
) -> None:
    env = {**tarantool_env(tarantool), "KV_USER_MAX_KEYS": "30"}  # refusals in the mix too
    api = await asyncio.to_thread(ApiProcess(tmp_path / "a", env=env).start)
    base = [api.base]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        users = [await _register(http, api.base) for _ in range(3)]
        clients = [Client(http, base, token) for _, token in users]
        stop = asyncio.Event()
        load = [asyncio.create_task(c.run(seed, stop)) for seed, c in enumerate(clients)]
        try:
            await asyncio.sleep(2.0)
            api.stop(signal.SIGKILL)  # mid-request: some calls were in Tarantool
            api = await asyncio.to_thread(ApiProcess(tmp_path / "b", env=env).start)
            base[0] = api.base
            await asyncio.sleep(2.0)
        finally:
            stop.set()
            await asyncio.gather(*load)
            api.stop()

    answered = {s for c in clients for s in c.statuses}
    assert answered <= {200, 409, 507}, [c.statuses for c in clients]
    assert {200, 409, 507} <= answered, "the mix must include conflicts and quota refusals"
    assert sum(c.failures for c in clients) > 0, "the crash never showed: the test proved nothing"
    for name, _ in users:
        uid = int(await store.eval("return box.space.kv_users.index.username:get(...)[1]", [name]))
        assert list(await store.eval(USAGE, [uid])) == list(await store.eval(STORED_USAGE, [uid]))

    # a third process purges what expired: usage goes down with it, still exact
    api = await asyncio.to_thread(ApiProcess(tmp_path / "c", env=env).start)
    try:
        for name, _ in users:
            code = "return box.space.kv_users.index.username:get(...)[1]"
            uid = int(await store.eval(code, [name]))

            async def purged(uid: int = uid) -> bool:
                return int(await store.eval(EXPIRING, [uid])) == 0

            await until(purged, f"the expired pairs of {name} are purged", timeout=30)
            stored = list(await store.eval(STORED_USAGE, [uid]))
            assert list(await store.eval(USAGE, [uid])) == stored
    finally:
        api.stop()
