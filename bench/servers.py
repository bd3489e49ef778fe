"""The processes under test: a Tarantool and `kv-api serve` in a temporary folder."""

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.placement import pinned
from bench.watch import WATCHERS
from kv_api.infrastructure.settings import Settings, TarantoolAddress
from kv_api.infrastructure.tarantool.managed import (
    APP_USER,
    free_port,
    instance_env,
    write_init_script,
)

TARANTOOL_PASSWORD = "bench-password"
JWT_SECRET = "bench-secret-that-is-at-least-32-bytes-long"


class Process:
    """A child process with its output in a log file; stopped by its own PID."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.popen: subprocess.Popen[bytes] | None = None

    def spawn(
        self, argv: list[str], cwd: Path, env: dict[str, str], cpus: frozenset[int] | None = None
    ) -> None:
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=pinned(cpus),
            )

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def check_alive(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} exited early; its log ends with:\n{tail}")

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


class TarantoolServer(Process):
    """Started like the tests' TarantoolProcess: the production init script and settings."""

    def __init__(self, work_dir: Path) -> None:
        work_dir.mkdir(parents=True, exist_ok=True)
        super().__init__("tarantool", work_dir / "stderr.log")
        self.work_dir = work_dir
        self.address = TarantoolAddress("127.0.0.1", free_port())
        self.user = APP_USER
        self.password = TARANTOOL_PASSWORD

    def start(self, timeout: float = 30.0, cpus: frozenset[int] | None = None) -> "TarantoolServer":
        init = write_init_script(self.work_dir)
        env = instance_env(Settings(), self.password)
        env["KV_TT_WORK_DIR"] = str(self.work_dir)
        self.spawn(["tarantool", str(init), str(self.address.port)], self.work_dir, env, cpus)
        deadline = time.monotonic() + timeout
        while not _accepts(self.address.port):
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError("tarantool did not start listening in time")
            time.sleep(0.05)
        return self


class ApiServer(Process):
    """`kv-api serve --workers N` against the given Tarantool, production settings otherwise."""

    def __init__(
        self,
        data_dir: Path,
        tarantool: TarantoolServer,
        workers: int,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        super().__init__("kv-api", data_dir / "kv-api.log")
        self.data_dir = data_dir
        self.tarantool = tarantool
        self.workers = workers
        self.extra_env = extra_env or {}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KV_")}
        env.update(
            KV_HOST="127.0.0.1",
            KV_PORT=str(self.port),
            KV_DATA_DIR=str(self.data_dir),
            KV_TARANTOOL_URI=f"{self.tarantool.address.host}:{self.tarantool.address.port}",
            KV_TARANTOOL_USER=self.tarantool.user,
            KV_TARANTOOL_PASSWORD=self.tarantool.password,
            KV_JWT_SECRET=JWT_SECRET,
            # every simulated client registers from 127.0.0.1, and the login storm measures
            # the hashing threads' throughput rather than the queue bound's refusals
            KV_REGISTER_MAX="1000000000",
            KV_MAX_HASH_QUEUE="1000000",
            # the watch scenario parks 200 watchers of one user: one change's fan-out to all
            KV_USER_MAX_WATCHES=str(WATCHERS),
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60.0, cpus: frozenset[int] | None = None) -> "ApiServer":
        argv = [*_kv_api_command(), "serve", "--workers", str(self.workers)]
        self.spawn(argv, self.data_dir, self.environment(), cpus)
        deadline = time.monotonic() + timeout
        while not _ready(self.base_url + "/ready"):
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"kv-api not ready in {timeout:.0f}s; see {self.log_path}")
            time.sleep(0.1)
        return self


def _kv_api_command() -> list[str]:
    override = os.environ.get("BENCH_API_COMMAND")  # for experiments: another build or a wrapper
    if override:
        return shlex.split(override)
    script = Path(sys.executable).with_name("kv-api")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "kv_api.presentation.cli"]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class CeilingServer(Process):
    """bench/ceiling.py: the same Lua function calls with no work of the API's own."""

    def __init__(self, work_dir: Path, tarantool: TarantoolServer, session: str) -> None:
        work_dir.mkdir(parents=True, exist_ok=True)
        super().__init__("ceiling", work_dir / "ceiling.log")
        self.work_dir = work_dir
        self.tarantool = tarantool
        self.session = session
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0, cpus: frozenset[int] | None = None) -> "CeilingServer":
        address = self.tarantool.address
        argv = [
            sys.executable,
            "-m",
            "bench.ceiling",
            f"--port={self.port}",
            f"--tarantool={address.host}:{address.port}",
            f"--user={self.tarantool.user}",
            f"--password={self.tarantool.password}",
            f"--session={self.session}",
        ]
        root = Path(__file__).resolve().parents[1]
        self.spawn(argv, root, {**os.environ, "PYTHONPATH": str(root)}, cpus)
        deadline = time.monotonic() + timeout
        while not _accepts(self.port):
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the ceiling server did not start; see {self.log_path}")
            time.sleep(0.05)
        return self
