"""kv-api backup while a writer runs, then restore into a new folder and serve from it."""

import json
import os
import subprocess
import threading
import time
from pathlib import Path

from tests.conftest import unique_name
from tests.support.server import CHEAP_ENV, ApiProcess, kv_api_binary

PASSWORD = "backup-test-pass-1"
NO_EXTERNAL = {k: "" for k in os.environ if k.startswith("KV_TARANTOOL_")}


def cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KV_")}
    env |= {**CHEAP_ENV, "KV_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [kv_api_binary(), *args], capture_output=True, text=True, env=env, timeout=120
    )
    return done.returncode, done.stdout, done.stderr


class Writer(threading.Thread):
    """Writes one new key per request and records when each was acknowledged."""

    def __init__(self, api: ApiProcess, token: str) -> None:
        super().__init__(daemon=True)
        self.api, self.token = api, token
        self.acked: list[tuple[float, str]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            key = f"live-{n}"
            if self.api.request("POST", "/api/write", {"data": {key: n}}, self.token)[0] == 200:
                self.acked.append((time.monotonic(), key))
            n += 1


def _token(api: ApiProcess, name: str) -> str:
    body = {"username": name, "password": PASSWORD}
    status, answer = api.request("POST", "/api/register", body)
    assert status == 200, answer
    return str(answer["token"])


def test_backup_while_writing_then_restore_into_a_new_folder(tmp_path: Path) -> None:
    source, target, copy = tmp_path / "a", tmp_path / "b", tmp_path / "copy"
    api = ApiProcess(source, env=NO_EXTERNAL).start(timeout=60)
    try:
        owner, gone = unique_name(), unique_name()
        token, revoked = _token(api, owner), _token(api, gone)
        assert api.request("POST", "/api/logout", None, revoked)[0] == 204
        data = {f"pre-{i}": {"n": i} for i in range(200)}
        assert api.request("POST", "/api/write", {"data": data}, token)[0] == 200
        writer = Writer(api, token)
        writer.start()
        while len(writer.acked) < 20:
            time.sleep(0.01)
        started = time.monotonic()
        code, _, err = cli(source, "backup", str(copy))
        assert code == 0, err
        late = unique_name()
        _token(api, late)  # after the backup: must not exist after the restore
        while len(writer.acked) < len([a for a in writer.acked if a[0] < started]) + 20:
            time.sleep(0.01)
        writer.stop.set()
        writer.join()
    finally:
        api.stop()
    before = [key for at, key in writer.acked if at < started]
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["schema_version"] and manifest["files"]
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])

    code, _, err = cli(target, "restore", str(copy))
    assert code == 0, err
    restored = ApiProcess(target, env=NO_EXTERNAL).start(timeout=60)
    try:
        status, body = restored.request("POST", "/api/read", {"keys": [*data, *before]}, token)
        assert status == 200
        assert body["not_found"] == []
        assert all(body["data"][k] == v for k, v in data.items())
        assert restored.request("GET", "/api/users/me", None, revoked)[0] == 401
        login = {"username": late, "password": PASSWORD}
        assert restored.request("POST", "/api/login", login)[0] == 401
        login = {"username": owner, "password": PASSWORD}
        assert restored.request("POST", "/api/login", login)[0] == 200
    finally:
        restored.stop()


def test_restore_checks_the_manifest_and_the_folder(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    assert cli(tmp_path / "a", "backup", str(copy))[0] == 0  # no server: its own instance
    snap = next(p for p in copy.iterdir() if p.suffix == ".snap")
    original = snap.read_bytes()
    snap.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    code, _, err = cli(tmp_path / "b", "restore", str(copy))
    assert code == 1 and "sha256" in err
    snap.write_bytes(original)
    assert cli(tmp_path / "b", "restore", str(copy))[0] == 0
    code, _, err = cli(tmp_path / "b", "restore", str(copy))
    assert code == 1 and "already holds a store" in err
    code, _, err = cli(tmp_path / "a", "backup", str(copy))
    assert code == 1 and "not empty" in err


def test_backup_in_external_mode_says_what_to_do_instead(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KV_")}
    env |= {**CHEAP_ENV, "KV_DATA_DIR": str(tmp_path), "KV_TARANTOOL_URI": "127.0.0.1:1"}
    done = subprocess.run(
        [kv_api_binary(), "backup", str(tmp_path / "copy")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert "box.backup.start()" in done.stderr
