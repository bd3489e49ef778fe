"""`kv-api user quota` while the server runs: a user's own limits take effect with its next
write in the running server, and go back to the defaults; bad numbers are one line, exit 2."""

from pathlib import Path

import pytest

from kv_api.domain.quotas import MAX_BYTES_LIMIT, QuotaPolicy
from tests.conftest import unique_name
from tests.e2e.test_cli_live import cli, served  # noqa: F401 - the fixture
from tests.support.server import ApiProcess

DEFAULTS = QuotaPolicy().defaults


def _register(api: ApiProcess) -> tuple[str, str]:
    name = unique_name()
    status, body = api.request("POST", "/api/register", {"username": name, "password": "pw-123456"})
    assert status == 200, body
    return name, body["token"]


@pytest.mark.slow
def test_own_limits_apply_in_the_running_server(served: ApiProcess, tmp_path: Path) -> None:  # noqa: F811
    data_dir = tmp_path / "var"  # the served process's data folder
    name, token = _register(served)
    assert served.request("POST", "/api/write", {"data": {"a": 1}}, token)[0] == 200

    code, out, err = cli(data_dir, "user", "quota", name.upper())
    assert (code, err) == (0, "")
    assert out.strip() == (
        f"{name}: keys 1 of {DEFAULTS.keys} (default), bytes "
        f"{_stored(served, token)} of {DEFAULTS.bytes} (default)"
    )

    code, out, err = cli(data_dir, "user", "quota", name, "--keys", "2", "--bytes", "none")
    assert code == 0, err
    assert f"keys 1 of 2 (own), bytes {_stored(served, token)} of none (own)" in out
    status, body = served.request("POST", "/api/write", {"data": {"b": 2, "c": 3}}, token)
    assert status == 507 and body["error"]["code"] == "quota_exceeded", body
    assert body["error"]["limit"] == {"keys": 2, "bytes": None}
    assert served.request("POST", "/api/write", {"data": {"b": 2}}, token)[0] == 200

    code, out, err = cli(data_dir, "user", "quota", name, "--keys", "default")
    assert code == 0 and f"keys 2 of {DEFAULTS.keys} (default)" in out, err
    assert served.request("POST", "/api/write", {"data": {"c": 3}}, token)[0] == 200
    status, me = served.request("GET", "/api/users/me", token=token)
    assert me["usage"]["keys"] == 3 and me["usage"]["max_bytes"] is None

    assert cli(data_dir, "user", "quota", "nobody_" + name)[0] == 1


def _stored(api: ApiProcess, token: str) -> int:
    status, me = api.request("GET", "/api/users/me", token=token)
    assert status == 200, me
    return int(me["usage"]["bytes"])


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--keys", "many"),
        ("--keys", "-1"),
        ("--bytes", "1.5"),
        ("--bytes", str(MAX_BYTES_LIMIT + 1)),
        ("--keys", "9" * 400),
        ("--bytes", ""),
    ],
)
def test_bad_numbers_are_one_line_and_exit_2(tmp_path: Path, option: str, value: str) -> None:
    code, out, err = cli(tmp_path / "var", "user", "quota", "someone", option, value)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"argument {option}: " in err, err
    assert "whole number" in err and "Traceback" not in err
