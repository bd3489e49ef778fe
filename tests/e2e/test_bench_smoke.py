"""`make bench` stays honest: its bodies are valid requests, its wrk scripts send authorised
requests the API answers with 2xx, and its driver baseline sends what the API sends.
Functional checks only: no timing is asserted."""

import asyncio
import os
import shutil
from collections.abc import Callable
from typing import Any

import pytest

from bench import driver, wrk
from bench.api_client import BenchUser
from bench.payloads import batches, dataset
from kv_api.infrastructure.settings import Settings
from tests.e2e.conftest import PASSWORD, Client, bearer, register
from tests.support.tarantool import TarantoolProcess

# Slow: runs the benchmark's tools (wrk, the driver) against a live server.
pytestmark = pytest.mark.slow

BATCHES = batches(dataset(40))


@pytest.fixture
async def bench_user(api: Client) -> BenchUser:
    user = await register(api)
    return BenchUser(user["username"], PASSWORD, user["token"])


async def test_bench_bodies_are_answered_in_full(api: Client, bench_user: BenchUser) -> None:
    auth = {**bearer(bench_user.token), "Content-Type": "application/json"}
    for name in ("write1000", "write10", "read10", "read1000"):
        batch = BATCHES[name]
        resp = await api.post(batch.path(), data=batch.body_bytes(), headers=auth)
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        if batch.kind == "write":
            assert body == {"status": "success", "written": batch.size, "skipped": []}
        else:
            assert body == {"data": batch.items, "not_found": []}


async def _run_wrk(job: wrk.WrkJob) -> Any:
    process = await asyncio.create_subprocess_exec(
        *job.argv(1),
        env={**os.environ, **job.env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return wrk.parse(output.decode(), 1)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is installed by `make deps`")
async def test_wrk_scripts_send_requests_the_api_accepts(
    api: Client, bench_user: BenchUser, tmp_path: Any
) -> None:
    batch = BATCHES["read10"]
    body_file = tmp_path / "read10.json"
    body_file.write_bytes(batch.body_bytes())
    reads = wrk.WrkJob(
        str(api.make_url(batch.path())),
        "kv.lua",
        {"BENCH_TOKEN": bench_user.token, "BENCH_BODY_FILE": str(body_file)},
        connections=2,
    )
    logins = wrk.WrkJob(
        str(api.make_url("/api/login")),
        "login.lua",
        {"BENCH_USERNAME": bench_user.username, "BENCH_PASSWORD": bench_user.password},
        connections=1,
    )
    for job in (reads, logins):
        measured = await _run_wrk(job)
        assert measured.requests > 0
        assert measured.errors == 0, measured
    assert set(measured.statuses or {}) == {"200"}


async def test_driver_sends_what_the_api_sends(
    api: Client,
    bench_user: BenchUser,
    tarantool: TarantoolProcess,
    make_settings: Callable[..., Settings],
) -> None:
    target = driver.DriverTarget(tarantool.address, tarantool.user, tarantool.password)
    settings = make_settings()
    for name in ("write10", "read10"):
        batch = BATCHES[name]
        function, _ = await driver.capture_call(batch, bench_user.session(), settings)
        assert function == f"kv_{batch.kind}"
        load = driver.Load(batch, bench_user.session(), settings, 2, seconds=0.2, warmup=0)
        measured = await driver.measure(target, load, server_cpu=lambda: 0.0)
        assert measured.requests > 0
