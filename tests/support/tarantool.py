"""A real tarantool process for tests: same init script as the managed instance."""

import signal
import socket
import subprocess
import time
from pathlib import Path

from kv_api.infrastructure.settings import Settings, TarantoolAddress
from kv_api.infrastructure.tarantool.managed import (
    APP_USER,
    free_port,
    instance_env,
    write_init_script,
)

PASSWORD = "test-password"


class TarantoolProcess:
    def __init__(
        self, work_dir: Path, settings: Settings | None = None, port: int | None = None
    ) -> None:
        self.work_dir = work_dir
        self.port = port or free_port()
        self.address = TarantoolAddress("127.0.0.1", self.port)
        self.user = APP_USER
        self.password = PASSWORD
        self._settings = settings or Settings()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 15.0) -> "TarantoolProcess":
        self.work_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.work_dir / "stderr.log", "ab")  # noqa: SIM115 - owned by the process
        self._process = subprocess.Popen(
            self.command(),
            cwd=self.work_dir,
            env=instance_env(self._settings, self.password),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()
        self._wait_listening(timeout)
        return self

    def command(self) -> list[str]:
        """What start() runs in work_dir; subclasses (a replica) bring their own script."""
        return ["tarantool", str(write_init_script(self.work_dir)), str(self.port)]

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(
                    f"tarantool exited: {(self.work_dir / 'stderr.log').read_text()[-2000:]}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("tarantool did not start listening in time")

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(sig)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
