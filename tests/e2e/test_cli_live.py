"""The admin CLI against a running server's embedded Tarantool, and on its own when none runs."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import unique_name
from tests.support.server import CHEAP_ENV, ApiProcess, kv_api_binary

OLD, NEW = "operator-old-pass-1", "operator-new-pass-2"


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KV_")}
    return {**env, **CHEAP_ENV, "KV_DATA_DIR": str(data_dir), "KV_LOG_FORMAT": "json"}


def cli(data_dir: Path, *args: str, stdin: str = "") -> tuple[int, str, str]:
    done = subprocess.run(
        [kv_api_binary(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(data_dir),
        timeout=60,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ApiProcess]:
    data_dir = tmp_path / "var"
    env = {k: "" for k in os.environ if k.startswith("KV_TARANTOOL_")}
    api = ApiProcess(data_dir, env=env).start(timeout=60)
    yield api
    api.stop()


def _login(api: ApiProcess, name: str, password: str) -> tuple[int, str | None]:
    status, body = api.request("POST", "/api/login", {"username": name, "password": password})
    return status, (body or {}).get("token")


def test_user_commands_work_while_the_server_runs(served: ApiProcess, tmp_path: Path) -> None:
    data_dir, name = tmp_path / "var", unique_name()
    code, out, err = cli(data_dir, "user", "create", name, stdin=OLD + "\n")
    assert (code, out.strip()) == (0, f"created user {name}"), err
    status, token = _login(served, name, OLD)
    assert status == 200 and token
    assert served.request("POST", "/api/write", {"data": {"k": 1}}, token)[0] == 200

    code, out, err = cli(data_dir, "user", "list")
    assert code == 0 and name in out.splitlines(), err

    code, out, err = cli(data_dir, "user", "set-password", name, stdin=NEW + "\n")
    assert code == 0, err
    assert served.request("POST", "/api/read", {"keys": ["k"]}, token)[0] == 401  # revoked
    assert _login(served, name, OLD)[0] == 401
    status, fresh = _login(served, name, NEW)
    assert status == 200
    assert served.request("POST", "/api/read", {"keys": ["k"]}, fresh)[1]["data"] == {"k": 1}

    assert cli(data_dir, "user", "set-password", "nobody_" + name, stdin=NEW + "\n")[0] == 1
    assert cli(data_dir, "user", "delete", name)[0] == 0
    assert served.request("GET", "/ready")[0] == 200  # its tarantool was joined, not replaced


def test_set_password_never_takes_the_password_from_argv(tmp_path: Path) -> None:
    code, _, err = cli(tmp_path / "var", "user", "set-password", "someone", NEW)
    assert code == 2 and "unrecognized arguments" in err


def _assert_plain(out: str, err: str) -> None:
    assert err == ""
    for line in out.splitlines():
        assert line.split("  ", 1)[0] in {"applied", "pending"}, line
        assert not line.startswith("{"), line


def test_migrate_status_prints_plain_lines_with_and_without_a_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    code, out, err = cli(data_dir, "migrate", "--status")  # starts and stops its own instance
    assert code == 0
    _assert_plain(out, err)
    env = {k: "" for k in os.environ if k.startswith("KV_TARANTOOL_")}
    api = ApiProcess(data_dir, env=env).start(timeout=60)
    try:
        code, out, err = cli(data_dir, "migrate", "--status")
        assert code == 0
        _assert_plain(out, err)
        assert "applied  001_users.lua" in out.splitlines()
        code, out, err = cli(data_dir, "migrate")
        assert (code, out.strip(), err) == (0, "applied 0 migration(s)", "")
    finally:
        api.stop()
