"""Numbered, self-describing batches written under load, and a check of what survived.

Batch n writes PAIRS keys `b<n>-<i>` whose values name the batch, so after a crash every
acknowledged batch must be complete and every other batch either complete or absent.
"""

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

PAIRS = 40
READ_CHUNK = 10_000 // PAIRS


def batch_keys(batch: int) -> list[str]:
    return [f"b{batch:06d}-{i:02d}" for i in range(PAIRS)]


def batch_value(batch: int, index: int) -> dict[str, Any]:
    return {"batch": batch, "i": index, "pad": "v" * 32, "ratio": batch / 7}


def batch_data(batch: int) -> dict[str, Any]:
    return {key: batch_value(batch, i) for i, key in enumerate(batch_keys(batch))}


async def problem_in_503(resp: aiohttp.ClientResponse) -> str | None:
    """None for a proper outage answer: 503, Retry-After, the JSON error body."""
    text = await resp.text()
    try:
        body = json.loads(text)
    except ValueError:
        return f"{resp.status} with a body that is not JSON: {text[:200]!r}"
    error = body.get("error") if isinstance(body, dict) else None
    if resp.status != 503 or "Retry-After" not in resp.headers or not isinstance(error, dict):
        return f"{resp.status} {resp.headers.get('Retry-After')} {body}"
    if error.get("code") != "storage_unavailable" or not error.get("message"):
        return f"503 with error body {error}"
    return None


@dataclass
class WriteLog:
    acked: set[int] = field(default_factory=set)
    unacked: set[int] = field(default_factory=set)
    unavailable: int = 0
    unexpected: list[str] = field(default_factory=list)


class BatchWriter:
    """Concurrent writers that record which batches got 200 and how every failure looked."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self._http = http
        self._base = base
        self._headers = {"Authorization": f"Bearer {token}"}
        self._numbers = itertools.count(1)
        self.log = WriteLog()

    @contextlib.asynccontextmanager
    async def running(self, writers: int = 3) -> AsyncIterator["BatchWriter"]:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(self._loop(stop)) for _ in range(writers)]
        try:
            yield self
        finally:
            stop.set()
            await asyncio.gather(*tasks)

    async def _loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not await self._send(next(self._numbers)):
                await asyncio.sleep(0.05)  # back off a little while the store is away

    async def _send(self, batch: int) -> bool:
        timeout = aiohttp.ClientTimeout(total=15)
        body = {"data": batch_data(batch)}
        try:
            async with self._http.post(
                f"{self._base}/api/write", json=body, headers=self._headers, timeout=timeout
            ) as resp:
                if resp.status == 200 and (await resp.json())["written"] == PAIRS:
                    self.log.acked.add(batch)
                    return True
                self.log.unacked.add(batch)
                problem = await problem_in_503(resp)
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.log.unacked.add(batch)
            problem = f"batch {batch}: {exc!r}"
        if problem is None:
            self.log.unavailable += 1
        else:
            self.log.unexpected.append(problem)
        return False

    async def wait(self, acked: int = 0, unavailable: int = 0, timeout: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.log.acked) < acked or self.log.unavailable < unavailable:
            assert asyncio.get_running_loop().time() < deadline, (
                f"waited for {acked} acked and {unavailable} 503s; have {self.log}"
            )
            await asyncio.sleep(0.05)


async def find_batch_problems(
    http: aiohttp.ClientSession, base: str, token: str, log: WriteLog
) -> list[str]:
    """Every acknowledged batch complete and exact; every other one complete or absent."""
    problems: list[str] = []
    batches = sorted(log.acked | log.unacked)
    for start in range(0, len(batches), READ_CHUNK):
        chunk = batches[start : start + READ_CHUNK]
        stored = await _read_all(http, base, token, (k for b in chunk for k in batch_keys(b)))
        problems.extend(_check_batch(b, b in log.acked, stored) for b in chunk)
    return [p for p in problems if p]


def _check_batch(batch: int, acked: bool, stored: dict[str, Any]) -> str:
    expected = batch_data(batch)
    present = {k: v for k, v in stored.items() if k in expected}
    wrong = [k for k, v in present.items() if v != expected[k]]
    if wrong:
        return f"batch {batch}: wrong values at {wrong[:3]}"
    if acked and len(present) != PAIRS:
        return f"acknowledged batch {batch} has {len(present)} of {PAIRS} pairs"
    if 0 < len(present) < PAIRS:
        return f"unacknowledged batch {batch} is half applied ({len(present)} of {PAIRS})"
    return ""


async def _read_all(
    http: aiohttp.ClientSession, base: str, token: str, keys: Iterable[str]
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(f"{base}/api/read", json={"keys": list(keys)}, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        data: dict[str, Any] = (await resp.json())["data"]
        return data


async def register(http: aiohttp.ClientSession, base: str, username: str, password: str) -> str:
    body = {"username": username, "password": password}
    async with http.post(f"{base}/api/register", json=body) as resp:
        assert resp.status == 200, await resp.text()
        token: str = (await resp.json())["token"]
        return token
