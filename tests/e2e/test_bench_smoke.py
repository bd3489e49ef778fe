"""`make bench` stays honest: its bodies are valid requests, its wrk scripts send authorised
requests the API answers with 2xx, and its driver baseline sends what the API sends.
Functional checks only: no timing is asserted."""

import asyncio
import os
import shutil
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from bench import driver, neighbour, wrk
from bench.api_client import BenchUser, cas_versions
from bench.chart import draw
from bench.payloads import batches, dataset
from bench.report import Results
from bench.servers import CeilingServer
from bench.stats import Measurement
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
    revision = 0
    for name in ("write1000", "write10", "read10", "read1000", "write1000_ttl", "cas1000"):
        batch = BATCHES[name]
        for version in (0, 1):  # a cas body at the versions read: create-only, then version 1
            resp = await api.post(batch.path(), data=batch.body_bytes(version), headers=auth)
            assert resp.status == 200, await resp.text()
            body = await resp.json()
            if batch.kind == "read":
                assert body == {"data": batch.items, "not_found": []}
            else:
                revision += 1
                written = {"status": "success", "written": batch.size, "skipped": []}
                assert body == {**written, "revision": revision}
    ttl = BATCHES["write1000_ttl"]
    read = {"keys": ttl.keys, "include": ["version", "expires_at"]}
    meta = (await (await api.post("/api/read", json=read, headers=auth)).json())["meta"]
    assert all(m["expires_at"] is not None for m in meta.values())


async def _run_wrk(job: wrk.WrkJob) -> Any:
    # A failure, not a skip: `make test` installs wrk, so its absence is a broken set-up.
    assert shutil.which("wrk"), "the bench's wrk scripts need wrk, which `make test` installs"
    process = await asyncio.create_subprocess_exec(
        *job.argv(1),
        env={**os.environ, **job.env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return wrk.parse(output.decode(), 1)


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


async def test_the_noisy_neighbour_runs_and_its_flood_meets_the_users_cap(
    make_api: Any, tmp_path: Any
) -> None:
    api = await make_api(user_max_inflight=1)
    measured_user, flooder = await register(api), await register(api)
    batch = BATCHES["read10"]
    for user in (measured_user, flooder):
        write = {"data": batch.items}
        assert (
            await api.post("/api/write", json=write, headers=bearer(user["token"]))
        ).status == 200
    body_file = tmp_path / "read10.json"
    body_file.write_bytes(batch.body_bytes())
    url = str(api.make_url(batch.path()))

    def job(token: str, connections: int, script: str) -> wrk.WrkJob:
        env = {"BENCH_TOKEN": token, "BENCH_BODY_FILE": str(body_file)}
        return wrk.WrkJob(url, script, env, connections)

    measured = job(measured_user["token"], 1, "kv.lua")
    flood = job(flooder["token"], 4, "flood.lua")
    figures = await asyncio.to_thread(neighbour.measure, measured, flood, 1)

    assert figures.alone.requests > 0 and figures.alone.errors == 0
    assert figures.flooded.requests > 0 and figures.flooded.errors == 0  # under its own cap
    statuses = figures.flood.statuses or {}
    assert set(statuses) == {"200", "429"}, statuses  # 4 connections, a cap of 1
    assert figures.flood.non_2xx == statuses["429"]
    summary = figures.as_dict()["summary"]
    assert summary.startswith("neighbour: read10 p99 alone") and "answered 429" in summary


async def test_wrk_conditional_writers_win_every_time(
    api: Client, bench_user: BenchUser, tmp_path: Any
) -> None:
    batch, writers = BATCHES["cas1000"], 2
    prefix = tmp_path / "cas1000-"
    for owner in range(writers):
        (tmp_path / f"cas1000-{owner}.json").write_bytes(batch.for_owner(owner).body_bytes())
    base = str(api.make_url(""))
    for _ in range(2):  # the second run starts from the versions the first one left
        versions = await cas_versions(base, bench_user, batch, writers)
        env = {
            "BENCH_TOKEN": bench_user.token,
            "BENCH_BODY_PREFIX": str(prefix),
            "BENCH_VERSIONS": ",".join(map(str, versions)),
        }
        job = wrk.WrkJob(base + batch.path(), "cas.lua", env, writers, writers)
        measured = await _run_wrk(job)
        assert measured.requests > 0
        assert measured.errors == 0 and measured.statuses == {"200": measured.requests}, measured
    after = await cas_versions(base, bench_user, batch, writers)
    # each win is one version more; a request in flight when wrk stops is won but not counted
    assert measured.requests <= sum(after) - sum(versions) <= measured.requests + writers


async def test_driver_sends_what_the_api_sends(
    api: Client,
    bench_user: BenchUser,
    tarantool: TarantoolProcess,
    make_settings: Callable[..., Settings],
) -> None:
    target = driver.DriverTarget(tarantool.address, tarantool.user, tarantool.password)
    settings = make_settings()
    for name in ("write10", "read10", "write1000_ttl", "cas1000"):
        batch = BATCHES[name]
        function, args = await driver.capture_call(batch, bench_user.session(), settings)
        assert function == ("kv_read" if batch.kind == "read" else "kv_write_pairs")
        if name == "write1000_ttl":
            assert args[6] == 3600
        load = driver.Load(batch, bench_user.session(), settings, 2, seconds=0.2, warmup=0.1)
        measured = await driver.measure(target, load, server_cpu=lambda: 0.0)
        assert measured.requests > 0
        assert measured.errors == 0, measured  # for cas1000: no 409, every call wins


async def test_the_floor_stores_pairs_the_api_reads_back(
    api: Client,
    bench_user: BenchUser,
    tarantool: TarantoolProcess,
    make_settings: Callable[..., Settings],
) -> None:
    target = driver.DriverTarget(tarantool.address, tarantool.user, tarantool.password)
    for name in ("write10", "write1000_ttl"):
        batch = BATCHES[name]
        load = driver.Load(batch, bench_user.session(), make_settings(), 2, 0.2, warmup=0.0)
        measured = await driver.measure(target, load, server_cpu=lambda: 0.0, floor=True)
        assert measured.requests > 0 and measured.errors == 0
        read = {"keys": batch.keys, "include": ["version", "expires_at"]}
        answer = await (
            await api.post("/api/read", json=read, headers=bearer(bench_user.token))
        ).json()
        assert answer["data"] == batch.items
        assert {m["version"] for m in answer["meta"].values()} == {1}
        expiring = {m["expires_at"] is not None for m in answer["meta"].values()}
        assert expiring == {"ttl" in batch.options}


async def test_ceiling_answers_the_bench_bodies_as_the_api_does(
    api: Client, bench_user: BenchUser, tarantool: TarantoolProcess, tmp_path: Any
) -> None:
    session = bench_user.session()
    ceiling = CeilingServer(
        tmp_path / "ceiling",
        tarantool,  # type: ignore[arg-type]
        f"{session.user_id}:{session.token_version}:{session.token_id}",
    ).start()
    auth = {**bearer(bench_user.token), "Content-Type": "application/json"}
    try:
        async with aiohttp.ClientSession() as http:
            for name in ("write10", "read10", "write1000", "read1000"):
                batch = BATCHES[name]
                body = batch.body_bytes()
                expected = await (await api.post(batch.path(), data=body, headers=auth)).json()
                async with http.post(ceiling.base_url + batch.path(), data=body) as from_ceiling:
                    assert from_ceiling.status == 200, await from_ceiling.text()
                    answer = await from_ceiling.json()
                if "revision" in expected:  # the same user's next write: the next revision
                    expected["revision"] += 1
                assert answer == expected
    finally:
        ceiling.stop()


def test_chart_draws_api_ceiling_etcd_and_driver(tmp_path: Any) -> None:
    def measured(rate: float) -> Measurement:
        return Measurement(requests=int(rate * 10), seconds=10, batch_size=10, p50_ms=1, p99_ms=3)

    results = Results(
        api={"read10": measured(2000), "write1000": measured(400)},
        ceiling={"read10": measured(3000)},
        etcd={"read10": measured(800), "write1000": measured(20)},
        driver={"read10": measured(8000)},
    )
    svg = draw(results, tmp_path / "latest.svg", "test run").read_text()
    assert "ceiling" in svg and "driver" in svg and "0.67x" in svg
    assert "etcd" in svg and "2.50x" in svg and "20.00x" in svg  # API / etcd on etcd's bars
