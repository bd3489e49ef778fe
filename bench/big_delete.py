"""Another user's single-key reads while a big account is deleted: how long the DELETE takes,
the reads' latency before and during the purge of its data, and how long the purge runs.
Starts its own `kv-api serve` (embedded Tarantool) on a free loopback port and stops it.

    .venv/bin/python -m bench.big_delete [--keys 500000]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.hostile import wait_ready
from bench.stats import percentile
from kv_api.infrastructure.tarantool.managed import free_port

PASSWORD = "big-delete-pass-1"
BATCH = 10_000


def call(base: str, method: str, path: str, body: Any = None, token: str = "") -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=120) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


def account(base: str, name: str) -> str:
    body = {"username": name, "password": PASSWORD}
    return str(call(base, "POST", "/api/register", body)["token"])


def reads(base: str, token: str, until: float) -> list[float]:
    latencies = []
    while time.monotonic() < until:
        started = time.perf_counter()
        call(base, "POST", "/api/read", {"keys": ["mine"]}, token)
        latencies.append(time.perf_counter() - started)
        time.sleep(0.002)
    return latencies


def summary(name: str, latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p50, p99, worst = (percentile(ordered, q) * 1000 for q in (0.5, 0.99, 1.0))
    return f"{name}: {len(ordered)} reads, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms"


def purge_done(base: str, keys: int) -> float:
    """Seconds until the server's purge metric counts every key of the account."""
    started = time.monotonic()
    while True:
        with urllib.request.urlopen(base + "/metrics", timeout=10) as resp:
            for line in resp.read().decode().splitlines():
                name, _, value = line.partition(" ")
                if name == "kv_account_rows_purged_total" and float(value) >= keys:
                    return time.monotonic() - started
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.big_delete", description=__doc__)
    parser.add_argument("--keys", type=int, default=500_000, help="keys of the deleted account")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="kv-big-delete-"))
    port = free_port()
    env = {**os.environ, "KV_PORT": str(port), "KV_DATA_DIR": str(work / "data")}
    env |= {"KV_ACCESS_LOG": "false", "KV_LOG_LEVEL": "WARNING", "KV_REGISTER_MAX": "100"}
    kv_api = str(Path(sys.executable).with_name("kv-api"))
    with open(work / "api.log", "ab") as log:
        server = subprocess.Popen([kv_api, "serve"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base)
        doomed, other = account(base, "doomed"), account(base, "other")
        call(base, "POST", "/api/write", {"data": {"mine": 1}}, other)
        for start in range(0, args.keys, BATCH):
            pairs = {f"k{i:08d}": i for i in range(start, min(start + BATCH, args.keys))}
            call(base, "POST", "/api/write", {"data": pairs}, doomed)
        print(summary("before", reads(base, other, time.monotonic() + 3)))
        during: list[float] = []
        reader = threading.Thread(
            target=lambda: during.extend(reads(base, other, time.monotonic() + 30))
        )
        reader.start()
        time.sleep(0.5)
        started = time.perf_counter()
        call(base, "DELETE", "/api/users/me", None, doomed)
        deleted = time.perf_counter() - started
        purge = purge_done(base, args.keys)
        reader.join()
        print(f"DELETE /api/users/me of {args.keys} keys: {deleted * 1000:.1f} ms")
        print(f"background purge of its data: {purge:.1f} s")
        print(summary("during and after the purge (30 s)", during))
    finally:
        server.terminate()
        server.wait(60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
