"""`serve --workers 2`: every scrape, whichever worker answers it, shows the totals of both."""

import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.observability import Samples, parse_metrics, value
from tests.support.server import ApiProcess, tarantool_env
from tests.support.tarantool import TarantoolProcess

# Slow: starts several worker processes.
pytestmark = pytest.mark.slow

HEALTH_CHECKS = 20
SCRAPES = 4


def _scrape(api: ApiProcess) -> Samples:
    with urllib.request.urlopen(api.base + "/metrics", timeout=10) as resp:
        assert resp.status == 200
        return parse_metrics(resp.read().decode())


def _answered(samples: Samples, route: str) -> float:
    return value(samples, "kv_http_requests_total", route=route, method="GET", status="200")


def _wait_for_both_workers(api: ApiProcess, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while api.log().count("serving on http://") < 2:
        assert time.monotonic() < deadline, api.log()
        time.sleep(0.05)


def test_metrics_add_up_across_worker_processes(
    tarantool: TarantoolProcess, tmp_path: Path
) -> None:
    env = {
        **tarantool_env(tarantool),
        "KV_ACCESS_LOG": "false",
    }
    api = ApiProcess(tmp_path / "data", env=env, args=("--workers", "2")).start()
    try:
        _wait_for_both_workers(api)
        ready = _answered(_scrape(api), "/ready")  # polled by start() before it returned
        for _ in range(HEALTH_CHECKS):  # each on a new connection, so both workers get some
            assert api.request("GET", "/health")[0] == 200
        for scrape in range(1, SCRAPES + 1):
            samples = _scrape(api)
            assert _answered(samples, "/health") == HEALTH_CHECKS
            assert _answered(samples, "/metrics") == scrape  # whichever worker served them
            assert _answered(samples, "/ready") == ready
        metrics_dir = _metrics_dir_of_workers(api)
        assert len(list(metrics_dir.glob("counter_*.db"))) == 2  # one file per worker
    finally:
        assert api.stop() == 0
    assert not metrics_dir.exists()


def _metrics_dir_of_workers(api: ApiProcess) -> Path:
    assert api.process is not None
    pid = api.process.pid
    workers = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    found = set()
    for worker in workers:
        environ = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
        found |= {
            v.split(b"=", 1)[1] for v in environ if v.startswith(b"PROMETHEUS_MULTIPROC_DIR=")
        }
    [path] = found
    return Path(path.decode())


def test_a_scrape_right_after_ready_reads_no_outage(tmp_path: Path) -> None:
    """The embedded store under `--workers 2`: a worker reports its connection only once it
    has connected, so no scrape reads a worker that is still starting as an outage."""
    api = ApiProcess(tmp_path / "data", args=("--workers", "2")).start()
    try:
        for _ in range(SCRAPES):
            samples = _scrape(api)
            assert value(samples, "kv_tarantool_connected", role="primary", index="0") == 1
        _wait_for_both_workers(api)
        assert value(_scrape(api), "kv_tarantool_connected", role="primary", index="0") == 1
    finally:
        assert api.stop() == 0
