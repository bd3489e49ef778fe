"""`kv-api serve` with no KV_TARANTOOL_URI: it runs and supervises its own Tarantool."""

import signal
from pathlib import Path

import pytest

from tests.support.server import ApiProcess, pid_alive

# Slow: starts the server with its own Tarantool as processes.
pytestmark = pytest.mark.slow


def test_embedded_mode_serves_keeps_data_and_stops_its_tarantool(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    api = ApiProcess(data_dir, env={"KV_BOOTSTRAP_USER": "admin:presale"}).start()
    try:
        assert api.request("GET", "/health") == (200, {"status": "ok"})
        status, body = api.request(
            "POST", "/api/login", {"username": "admin", "password": "presale"}
        )
        assert status == 200
        token = body["token"]
        assert api.request("POST", "/api/write", {"data": {"k": [1, {"x": None}]}}, token)[0] == 200
        tarantool_pid = int((data_dir / "tarantool" / "tarantool.pid").read_text())
        assert (data_dir / "jwt_secret").exists() is False  # KV_JWT_SECRET is set in CHEAP_ENV
    finally:
        assert api.stop() == 0
    assert not pid_alive(tarantool_pid), "the managed tarantool outlived kv-api"
    assert "managed tarantool stopped" in api.log()

    again = ApiProcess(data_dir, env={"KV_BOOTSTRAP_USER": "admin:presale"}).start()
    try:
        token = again.request("POST", "/api/login", {"username": "admin", "password": "presale"})[
            1
        ]["token"]
        status, body = again.request("POST", "/api/read", {"keys": ["k"]}, token)
        assert status == 200
        assert body["data"] == {"k": [1, {"x": None}]}
    finally:
        again.stop(signal.SIGINT)


def test_missing_tarantool_binary_is_one_clear_line(tmp_path: Path) -> None:
    api = ApiProcess(tmp_path / "var", env={"KV_TARANTOOL_BINARY": "no-such-tarantool-binary"})
    api.start(wait_ready=False)
    assert api.process is not None
    code = api.process.wait(timeout=30)
    output = api.log()
    assert code == 2
    assert "apt-get install -y tarantool" in output
    assert "KV_TARANTOOL_URI" in output
    assert "Traceback" not in output
