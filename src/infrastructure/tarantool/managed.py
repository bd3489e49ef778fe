import asyncio
import contextlib
import ctypes
import logging
import os
import secrets
import shutil
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from kv_api.infrastructure.data_folder import DataFolderLock
from kv_api.infrastructure.private_files import read_or_create
from kv_api.infrastructure.settings import Settings, SettingsError, TarantoolAddress
from kv_api.infrastructure.tarantool.endpoint import forget_endpoint, record_endpoint

log = logging.getLogger("kv_api.tarantool.managed")

APP_USER = "kv_api"
INSTANCE_SCRIPT = Path(__file__).with_name("instance.lua")
STABLE_RUN_SECONDS = 30.0  # a crash after this long starts the back-off over


def write_init_script(work_dir: Path) -> Path:
    init = work_dir / "init.lua"
    shutil.copyfile(INSTANCE_SCRIPT, init)
    return init


def instance_env(settings: Settings, password: str) -> dict[str, str]:
    """memtx_max_tuple_size fits the largest value plus its key, so size errors stay ours."""
    tuple_size = settings.max_value_bytes + 4 * 1024 + 64 * 1024
    return {
        **os.environ,
        "KV_TT_USER": APP_USER,
        "KV_TT_PASSWORD": password,
        "KV_TT_WAL_MODE": settings.wal_mode,
        "KV_TT_MEMORY": str(settings.tarantool_memory_mb * 1024 * 1024),
        "KV_TT_TUPLE_SIZE": str(tuple_size),
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass(frozen=True)
class Credentials:
    address: TarantoolAddress
    user: str
    password: str


class ManagedTarantool:
    """Starts, supervises (restart with back-off) and stops a local tarantool process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.work_dir = (settings.data_dir / "tarantool").resolve()
        self._lock = DataFolderLock(settings.data_dir)
        self._binary = shutil.which(settings.tarantool_binary)
        self._process: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self.port = free_port()
        self.restarts = 0
        self.credentials = Credentials(
            TarantoolAddress("127.0.0.1", self.port), APP_USER, self._password()
        )

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def _password(self) -> str:
        path = self._settings.data_dir / "tarantool_password"
        return read_or_create(path, lambda: secrets.token_urlsafe(24))

    def check_binary(self) -> str:
        if self._binary is None:
            raise SettingsError(
                f"tarantool binary {self._settings.tarantool_binary!r} not found: install it "
                "(apt-get install -y tarantool) or set KV_TARANTOOL_URI to an existing server"
            )
        return self._binary

    async def start(self) -> None:
        binary = self.check_binary()
        self._lock.acquire()  # before touching the folder: a live owner's store is not ours
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._stop_orphan()
        init = write_init_script(self.work_dir)
        await self._spawn(binary, init)
        record_endpoint(self._settings.data_dir, self.credentials.address, APP_USER)
        self._supervisor = asyncio.create_task(self._supervise(binary, init))

    async def _spawn(self, binary: str, init: Path) -> None:
        s = self._settings
        env = instance_env(s, self.credentials.password)
        with open(self.work_dir / "stderr.log", "ab") as stderr:  # noqa: ASYNC230
            self._process = await asyncio.create_subprocess_exec(
                binary,
                str(init),
                str(self.port),
                cwd=self.work_dir,
                env=env,
                preexec_fn=_die_with_parent,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
            )
        log.info("managed tarantool started", extra={"pid": self._process.pid, "port": self.port})

    async def _supervise(self, binary: str, init: Path) -> None:
        delay = 0.5
        loop = asyncio.get_running_loop()
        while True:
            assert self._process is not None
            started = loop.time()
            code = await self._process.wait()
            if self._stopping:
                return
            if loop.time() - started > STABLE_RUN_SECONDS:
                delay = 0.5
            self.restarts += 1
            log.error("managed tarantool exited (code %s); restarting in %.1fs", code, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
            with contextlib.suppress(OSError):
                await self._spawn(binary, init)

    def _stop_orphan(self) -> None:
        """A Tarantool working in the folder while this process holds its lock has no owner."""
        pid_file = self.work_dir / "tarantool.pid"
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text().strip())
            # tarantool rewrites its process title, so identify it by its working folder
            if os.readlink(f"/proc/{pid}/cwd") == str(self.work_dir):
                log.warning("stopping an orphaned tarantool (pid %s) on this data folder", pid)
                os.kill(pid, signal.SIGTERM)
                for _ in range(100):
                    if not Path(f"/proc/{pid}").exists():
                        break
                    time.sleep(0.05)

    async def stop(self, timeout: float = 10.0) -> None:
        if not self._lock.held:
            return  # never started here: the folder and its Tarantool are another's
        self._stopping = True
        forget_endpoint(self._settings.data_dir)
        if self._supervisor is not None:
            self._supervisor.cancel()
        try:
            await self._stop_process(timeout)
        finally:
            self._lock.release()

    async def _stop_process(self, timeout: float) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.info("managed tarantool stopped")
