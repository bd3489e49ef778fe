"""Worst `/health` latency while the edge is attacked: a gzip bomb (three in parallel) and
2,000 idle connections. Starts its own `kv-api serve` (embedded Tarantool) on a free loopback
port with the default limits and stops it by its PID.

    .venv/bin/python -m bench.hostile
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from kv_api.infrastructure.tarantool.managed import free_port

BOMB_SECONDS = 5.0
IDLE_CONNECTIONS = 2000


def gzip_bomb() -> bytes:
    """1 MB of gzip that inflates to 1 GiB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"a" * 2**20
    return b"".join(packer.compress(block) for _ in range(1024)) + packer.flush()


def probe(base: str, until: float) -> tuple[float, dict[int, int]]:
    worst, statuses = 0.0, dict[int, int]()
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(base + "/health", timeout=30) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            status = 0
        worst = max(worst, time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1
        time.sleep(0.02)
    return worst, statuses


def post_bomb(port: int, bomb: bytes, answers: list[int]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = (
            "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(bomb)}\r\n\r\n"
        )
        try:
            sock.sendall(head.encode() + bomb)
            answers.append(int(sock.recv(4096).split()[1]))
        except OSError:
            answers.append(0)


def during_bombs(base: str, port: int) -> str:
    bomb, answers = gzip_bomb(), list[int]()
    until = time.monotonic() + BOMB_SECONDS
    bombers = [threading.Thread(target=post_bomb, args=(port, bomb, answers)) for _ in range(3)]
    for thread in bombers:
        thread.start()
    worst, statuses = probe(base, until)
    for thread in bombers:
        thread.join(30)
    worst_ms = worst * 1000
    return f"3 parallel gzip bombs: answers {answers}; /health worst {worst_ms:.1f} ms {statuses}"


def during_idle(base: str, port: int) -> str:
    idle: list[socket.socket] = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        worst, statuses = probe(base, time.monotonic() + 3.0)
        time.sleep(12)  # past the 10 s header timeout
        still_open = sum(1 for sock in idle if _open(sock))
        after, later = probe(base, time.monotonic() + 2.0)
    finally:
        for sock in idle:
            sock.close()
    return (
        f"{IDLE_CONNECTIONS} idle connections: /health worst {worst * 1000:.1f} ms {statuses}; "
        f"still open after 12 s: {still_open}; then /health worst {after * 1000:.1f} ms {later}"
    )


def _open(sock: socket.socket) -> bool:
    """False once the server has closed it (after any answer it sent, such as a 408)."""
    sock.setblocking(False)
    try:
        while sock.recv(65536):
            pass
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def wait_ready(base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/ready", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("kv-api did not get ready")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="kv-hostile-"))
    port = free_port()
    env = {
        **os.environ,
        "KV_PORT": str(port),
        "KV_DATA_DIR": str(work / "data"),
        "KV_TARANTOOL_MEMORY_MB": "128",
        "KV_ACCESS_LOG": "false",
        "KV_LOG_LEVEL": "WARNING",
    }
    kv_api = str(Path(sys.executable).with_name("kv-api"))
    with open(work / "api.log", "ab") as log:
        server = subprocess.Popen([kv_api, "serve"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base)
        print("baseline:", f"/health worst {probe(base, time.monotonic() + 2)[0] * 1000:.1f} ms")
        print(during_bombs(base, port))
        print(during_idle(base, port))
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
