"""One server per data folder: a second `kv-api serve` on the folder a server owns refuses at
once, in one line with exit 2, and leaves the first one's store alone; of two started
together, exactly one serves."""

import time
from pathlib import Path

import pytest

from tests.support.server import ApiProcess

pytestmark = pytest.mark.slow
PASSWORD = "lock-test-pass-1"


def _account(api: ApiProcess) -> str:
    status, body = api.request("POST", "/api/register", {"username": "owner", "password": PASSWORD})
    assert status == 200, body
    return str(body["token"])


def _refused_at_once(second: ApiProcess) -> str:
    second.start(wait_ready=False)
    assert second.process is not None
    try:
        code = second.process.wait(timeout=20)
    finally:
        second.stop()
    log = second.log()
    lines = [line for line in log.splitlines() if line.strip()]
    assert code == 2, log
    assert "Traceback" not in log
    assert any("in use by another kv-api" in line for line in lines), log
    return log


def test_a_second_server_on_the_folder_refuses_and_the_first_goes_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = ApiProcess(data).start()
    try:
        token = _account(first)
        assert first.request("POST", "/api/write", {"data": {"k": 1}}, token)[0] == 200
        pid_before = (data / "tarantool" / "tarantool.pid").read_text()
        log = _refused_at_once(ApiProcess(data))
        assert "orphaned" not in log
        time.sleep(1.0)  # a broken first server would now answer 503
        assert (data / "tarantool" / "tarantool.pid").read_text() == pid_before
        assert first.request("GET", "/ready")[0] == 200
        status, body = first.request("POST", "/api/read", {"keys": ["k"]}, token)
        assert (status, body["data"]) == (200, {"k": 1})
        assert first.request("POST", "/api/write", {"data": {"k": 2}}, token)[0] == 200
    finally:
        assert first.stop() == 0


def test_of_two_servers_started_together_exactly_one_serves(tmp_path: Path) -> None:
    data = tmp_path / "data"
    both = [ApiProcess(data), ApiProcess(data)]
    for api in both:
        api.start(wait_ready=False)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            exited = [api for api in both if api.process and api.process.poll() is not None]
            serving = [api for api in both if api.request("GET", "/ready")[0] == 200]
            if len(exited) == 1 and len(serving) == 1:
                break
            time.sleep(0.1)
        assert [api.process.returncode for api in exited if api.process] == [2]
        assert len(serving) == 1 and serving[0] not in exited
        assert "in use by another kv-api" in exited[0].log()
        assert _account(serving[0])
    finally:
        for api in both:
            api.stop()
