"""The owner of a data folder: the one process whose embedded Tarantool works in it.

Owning is an exclusive `flock` on `KV_DATA_DIR/lock`, held for the owner's whole life. The
kernel drops it when the owner dies, however it dies, so a lock is never left stale, and a
Tarantool found working in the folder without a live owner is an orphan."""

import contextlib
import fcntl
import os
from pathlib import Path

from kv_api.infrastructure.settings import StartupError

LOCK_FILE = "lock"


class FolderInUse(StartupError):
    """Another live process owns the data folder."""


class DataFolderLock:
    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Owns the folder, or raises FolderInUse naming the owner."""
        if self._fd is not None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FolderInUse(
                f"the data folder {self._path.parent} is in use by another kv-api "
                f"(pid {_pid_in(self._path) or 'unknown'}): stop it, or give this one "
                "another KV_DATA_DIR"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the lock
            self._fd = None


def owner(data_dir: Path) -> int | None:
    """The pid of the live process that owns the folder; None when nobody does."""
    path = data_dir / LOCK_FILE
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _pid_in(path) or -1
    finally:
        os.close(fd)  # a shared lock taken here goes with the descriptor
    return None


def _pid_in(path: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(path.read_text().strip())
    return None
