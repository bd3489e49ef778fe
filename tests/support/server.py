"""Run `kv-api serve` as a real subprocess for tests of the process itself."""

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kv_api.infrastructure.tarantool.managed import free_port

KV_API = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kv-api")
CHEAP_ENV = {
    "KV_ARGON2_MEMORY_KIB": "64",
    "KV_ARGON2_TIME_COST": "1",
    "KV_JWT_SECRET": "test-secret-that-is-at-least-32-bytes-long!",
    "KV_LOG_FORMAT": "text",
    "KV_REGISTER_MAX": "1000000",  # every test registers from 127.0.0.1
}


def tarantool_env(tarantool: Any) -> dict[str, str]:
    """The variables that point `kv-api` at a test Tarantool (a TarantoolProcess)."""
    return {
        "KV_TARANTOOL_URI": f"{tarantool.address.host}:{tarantool.address.port}",
        "KV_TARANTOOL_USER": tarantool.user,
        "KV_TARANTOOL_PASSWORD": tarantool.password,
    }


def kv_api_binary() -> str:
    return KV_API if os.path.exists(KV_API) else "kv-api"


class ApiProcess:
    def __init__(
        self, data_dir: Path, env: Mapping[str, str] | None = None, args: tuple[str, ...] = ()
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"api-{self.port}.log"
        self._env = {
            **os.environ,
            **CHEAP_ENV,
            "KV_DATA_DIR": str(data_dir),
            "KV_PORT": str(self.port),
            **(env or {}),
        }
        self._args = args
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait_ready: bool = True, timeout: float = 30.0) -> "ApiProcess":
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [kv_api_binary(), "serve", *self._args], env=self._env, stdout=log, stderr=log
        )
        log.close()
        if wait_ready:
            self.wait_for("/ready", 200, timeout)
        return self

    def wait_for(self, path: str, status: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"kv-api exited early:\n{self.log()}")
            if self.request("GET", path)[0] == status:
                return
            time.sleep(0.1)
        raise TimeoutError(f"{path} did not answer {status} in {timeout}s:\n{self.log()}")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else None
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie awaiting its parent."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text()
    except FileNotFoundError:
        return False
