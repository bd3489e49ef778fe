"""Where a running server's embedded Tarantool listens, so admin commands can join it.

The server writes address and user to `KV_DATA_DIR/tarantool_endpoint.json`; the password is
not copied there: it stays in `tarantool_password` (mode 0600), readable by the same account."""

import contextlib
import json
import os
from pathlib import Path

from kv_api.infrastructure.settings import TarantoolAddress

ENDPOINT_FILE = "tarantool_endpoint.json"
PASSWORD_FILE = "tarantool_password"


def record_endpoint(data_dir: Path, address: TarantoolAddress, user: str) -> None:
    path = data_dir / ENDPOINT_FILE
    temporary = path.with_suffix(".tmp")
    text = json.dumps({"host": address.host, "port": address.port, "user": user})
    temporary.write_text(text + "\n", encoding="utf-8")
    temporary.replace(path)  # readers never see half a file


def forget_endpoint(data_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (data_dir / ENDPOINT_FILE).unlink()


def serving_pid(data_dir: Path) -> int | None:
    """The pid of a live tarantool working in this data folder, if any."""
    work_dir = (data_dir / "tarantool").resolve()
    with contextlib.suppress(OSError, ValueError):
        pid = int((work_dir / "tarantool.pid").read_text().strip())
        # tarantool rewrites its process title, so identify it by its working folder
        if os.readlink(f"/proc/{pid}/cwd") == str(work_dir):
            return pid
    return None


def running_endpoint(data_dir: Path) -> tuple[TarantoolAddress, str, str] | None:
    """Address, user and password of the embedded Tarantool a server runs; None if none."""
    if serving_pid(data_dir) is None:
        return None
    try:
        recorded = json.loads((data_dir / ENDPOINT_FILE).read_text(encoding="utf-8"))
        password = (data_dir / PASSWORD_FILE).read_text(encoding="ascii").strip()
        address = TarantoolAddress(str(recorded["host"]), int(recorded["port"]))
        return address, str(recorded["user"]), password
    except (OSError, ValueError, KeyError, TypeError):
        return None
