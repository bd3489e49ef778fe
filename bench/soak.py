"""Soak: a bounded mixed load against a `kv-api serve` of our own (embedded Tarantool).

    python -m bench.soak [--seconds 120] [--concurrency 8] [--rss-limit-mib 50]

Passes (exit 0) when no request got a 5xx or a transport error, the API exited 0 on
SIGTERM, and the API process's RSS grew by less than the limit between the end of the
warm-up and the end of the run.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from kv_api.infrastructure.tarantool.managed import free_port

PASSWORD = "soak-password-1"
KEYSPACE = 2_000  # keys per user: the store's size stays bounded however long the run


class Api:
    """`kv-api serve` in a temporary data folder, stopped by its PID."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "api.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KV_")}
        env.update(
            KV_DATA_DIR=str(data_dir),
            KV_PORT=str(self.port),
            KV_ARGON2_MEMORY_KIB="64",  # the soak is about the API and the store, not argon2
            KV_ARGON2_TIME_COST="1",
            KV_LOGIN_MAX_FAILURES="1000000",
            KV_TARANTOOL_MEMORY_MB="512",
        )
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kv_api.presentation.cli", "serve"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS for the API process")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


async def wait_ready(http: aiohttp.ClientSession, api: Api, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.process.poll() is not None:
            raise RuntimeError(f"kv-api exited early; see {api.log_path}")
        try:
            async with http.get(f"{api.base}/ready") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"kv-api was not ready in {timeout}s; see {api.log_path}")


def random_value(rng: random.Random) -> Any:
    kind = rng.randrange(5)
    if kind == 0:
        return rng.random() * 1e6
    if kind == 1:
        return "x" * rng.randrange(1, 2_000)
    if kind == 2:
        return {"n": rng.randrange(1 << 40), "tags": ["a", "b", None, True], "nested": {"x": []}}
    if kind == 3:
        return [rng.randrange(100) for _ in range(rng.randrange(50))]
    return None


class Client:
    """One simulated user doing a weighted mix of every route, tallying statuses."""

    def __init__(self, http: aiohttp.ClientSession, base: str, seed: int, tally: Counter[str]):
        self._http, self._base, self._tally = http, base, tally
        self._rng = random.Random(seed)
        self._name = f"soak_{uuid.uuid4().hex[:12]}"
        self._auth: dict[str, str] = {}
        ops: list[tuple[Callable[[], Awaitable[None]], int]] = [
            (self.write, 30),
            (self.read, 30),
            (self.keys, 10),
            (self.delete, 8),
            (self.me, 8),
            (self.relogin, 4),
            (self.bad_request, 5),
            (self.churn, 3),
        ]
        self._ops = [op for op, _ in ops]
        self._weights = [weight for _, weight in ops]

    async def call(self, op: str, method: str, path: str, **kwargs: Any) -> Any:
        try:
            async with self._http.request(method, self._base + path, **kwargs) as resp:
                body = await resp.read()
                self._tally[f"{op} {resp.status}"] += 1
                return resp.status, body
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._tally[f"{op} {type(exc).__name__}"] += 1
            return 0, b""

    async def start(self) -> None:
        body = {"username": self._name, "password": PASSWORD}
        status, raw = await self.call("register", "POST", "/api/register", json=body)
        if status != 200:
            raise RuntimeError(f"register failed: {status} {raw[:200]!r}")
        self._auth = {"Authorization": "Bearer " + _token(raw)}

    async def run(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            await self._rng.choices(self._ops, self._weights)[0]()

    def _keys(self, count: int) -> list[str]:
        return [f"key-{self._rng.randrange(KEYSPACE)}" for _ in range(count)]

    async def write(self) -> None:
        data = {k: random_value(self._rng) for k in self._keys(self._rng.randrange(1, 100))}
        mode = self._rng.choice(["upsert", "insert"])
        await self.call(
            "write", "POST", "/api/write", json={"data": data, "mode": mode}, headers=self._auth
        )

    async def read(self) -> None:
        keys = self._keys(self._rng.randrange(1, 200))
        await self.call("read", "POST", "/api/read", json={"keys": keys}, headers=self._auth)

    async def delete(self) -> None:
        keys = self._keys(self._rng.randrange(1, 20))
        await self.call("delete", "POST", "/api/delete", json={"keys": keys}, headers=self._auth)

    async def keys(self) -> None:
        params = {"prefix": f"key-{self._rng.randrange(10)}", "limit": "100"}
        await self.call("keys", "GET", "/api/keys", params=params, headers=self._auth)

    async def me(self) -> None:
        await self.call("me", "GET", "/api/users/me", headers=self._auth)

    async def relogin(self) -> None:
        await self.call("logout", "POST", "/api/logout", headers=self._auth)
        body = {"username": self._name, "password": PASSWORD}
        status, raw = await self.call("login", "POST", "/api/login", json=body)
        if status == 200:
            self._auth = {"Authorization": "Bearer " + _token(raw)}

    async def bad_request(self) -> None:
        headers = {**self._auth, "Content-Type": "application/json"}
        await self.call("bad", "POST", "/api/write", data=b'{"data": [1,', headers=headers)

    async def churn(self) -> None:
        """A short-lived account: register, write, delete the account with all its keys."""
        body = {"username": f"soak_{uuid.uuid4().hex[:12]}", "password": PASSWORD}
        status, raw = await self.call("churn-register", "POST", "/api/register", json=body)
        if status != 200:
            return
        auth = {"Authorization": "Bearer " + _token(raw)}
        data = {k: random_value(self._rng) for k in self._keys(20)}
        await self.call("churn-write", "POST", "/api/write", json={"data": data}, headers=auth)
        await self.call("churn-delete", "DELETE", "/api/users/me", headers=auth)


def _token(raw: bytes) -> str:
    token: str = json.loads(raw)["token"]
    return token


async def soak(api: Api, args: argparse.Namespace) -> tuple[Counter[str], float, float, float]:
    tally: Counter[str] = Counter()
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        await wait_ready(http, api)
        clients = [Client(http, api.base, seed, tally) for seed in range(args.concurrency)]
        await asyncio.gather(*(c.start() for c in clients))
        started = time.monotonic()
        warm_end = started + args.warmup
        end = started + args.seconds
        await asyncio.gather(*(c.run(warm_end) for c in clients))
        rss_warm = api.rss_mib()
        print(f"warm-up done after {args.warmup:.0f}s: API RSS {rss_warm:.1f} MiB", flush=True)
        peak = rss_warm
        while time.monotonic() < end:
            step = min(end, time.monotonic() + 10)
            await asyncio.gather(*(c.run(step) for c in clients))
            peak = max(peak, api.rss_mib())
            print(
                f"  t={time.monotonic() - started:5.0f}s  requests={sum(tally.values())}  "
                f"RSS={api.rss_mib():.1f} MiB",
                flush=True,
            )
        return tally, rss_warm, api.rss_mib(), peak


def report(
    tally: Counter[str], rss: tuple[float, float, float], code: int, args: argparse.Namespace
) -> int:
    warm, end, peak = rss
    total = sum(tally.values())
    print(
        f"\n{total} requests in {args.seconds:.0f}s ({total / args.seconds:.0f}/s), "
        f"concurrency {args.concurrency}"
    )
    by_status: Counter[str] = Counter()
    for key, count in tally.items():
        by_status[key.split()[1]] += count
    print("by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(by_status.items())))
    print("by route and status: " + ", ".join(f"{k}: {n}" for k, n in sorted(tally.items())))
    failures = {k: n for k, n in tally.items() if _is_failure(k.split()[1])}
    print(
        f"API RSS after warm-up {warm:.1f} MiB, at end {end:.1f} MiB, peak {peak:.1f} MiB; "
        f"growth {end - warm:+.1f} MiB (limit {args.rss_limit_mib} MiB)"
    )
    problems = []
    if failures:
        problems.append(f"server errors or transport failures: {failures}")
    if end - warm > args.rss_limit_mib:
        problems.append(f"RSS grew by {end - warm:.1f} MiB")
    if code != 0:
        problems.append(f"kv-api exited with {code} on SIGTERM")
    print("SOAK " + ("FAILED: " + "; ".join(problems) if problems else "PASSED"))
    return 1 if problems else 0


def _is_failure(status: str) -> bool:
    return not status.isdigit() or int(status) >= 500


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=120.0, help="length of the run")
    parser.add_argument(
        "--warmup",
        type=float,
        help="seconds before the RSS baseline (default: 10%% of the run, at least 5)",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="simultaneous clients")
    parser.add_argument(
        "--rss-limit-mib", type=float, default=50.0, help="allowed RSS growth after warm-up"
    )
    args = parser.parse_args(argv)
    if args.warmup is None:
        args.warmup = max(5.0, args.seconds / 10)
    if args.warmup >= args.seconds:
        parser.error("--warmup must be shorter than --seconds")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kv-soak-") as tmp:
        api = Api(Path(tmp))
        try:
            tally, *rss = asyncio.run(soak(api, args))
        finally:
            code = api.stop()
        verdict = report(tally, (rss[0], rss[1], rss[2]), code, args)
        if verdict != 0:
            lines = api.log_path.read_text(errors="replace").splitlines()
            notable = [ln for ln in lines if "kv_api.access" not in ln or '"status":5' in ln]
            print("\nthe API log, without successful requests, ends with:")
            print("\n".join(notable[-40:]))
        return verdict


if __name__ == "__main__":
    sys.exit(main())
