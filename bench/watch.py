"""The `watch` scenario: N long-poll watchers idle while read10 runs (read10 alone first, in
the same run), then a write burst every watcher must see whole, and memory per idle watcher."""

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench import api_client, wrk
from bench.stats import Measurement, percentile

WATCHERS = 200  # the default KV_MAX_WATCHES of one API process
BURST = 100  # writes, one after another, each awaited
PREFIX = "watch/"
POLL_TIMEOUT = 30


@dataclass
class WatchFigures:
    watchers: int
    burst: int
    read10_alone: Measurement
    read10_watched: Measurement
    seen_all: int  # watchers that saw every write of the burst, once each, in order
    latency_ms: list[float] = field(default_factory=list)  # ack of a write -> a watcher has it
    refused: int = 0  # 429 answers the watchers got (0: the limit was never reached)
    rss_kib: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**self.figures(), "summary": self.summary()}

    def figures(self) -> dict[str, Any]:
        ordered = sorted(self.latency_ms)
        api_per = (self.rss_kib["api_watched"] - self.rss_kib["api_idle"]) / self.watchers
        tt_per = (
            self.rss_kib["tarantool_watched"] - self.rss_kib["tarantool_idle"]
        ) / self.watchers
        return {
            "watchers": self.watchers,
            "burst": self.burst,
            "read10_alone": self.read10_alone.as_dict(),
            "read10_watched": self.read10_watched.as_dict(),
            "read10_throughput_ratio": round(
                self.read10_watched.requests_per_s / max(1e-9, self.read10_alone.requests_per_s), 3
            ),
            "seen_all": self.seen_all,
            "events": len(ordered),
            "latency_p50_ms": round(percentile(ordered, 0.5), 2),
            "latency_p99_ms": round(percentile(ordered, 0.99), 2),
            "refused_429": self.refused,
            "rss_kib": self.rss_kib,
            "rss_kib_per_watcher": {"api": round(api_per, 1), "tarantool": round(tt_per, 1)},
        }

    def summary(self) -> str:
        d = self.figures()
        alone, watched = self.read10_alone, self.read10_watched
        return (
            f"watch: {self.watchers} idle long polls: read10 {alone.requests_per_s:,.0f} -> "
            f"{watched.requests_per_s:,.0f} req/s (x{d['read10_throughput_ratio']}), "
            f"p99 {alone.p99_ms:.2f} -> {watched.p99_ms:.2f} ms; burst of {self.burst} writes: "
            f"{self.seen_all}/{self.watchers} watchers saw every one ({d['events']} events), "
            f"ack -> event p50 {d['latency_p50_ms']} ms, p99 {d['latency_p99_ms']} ms; "
            f"RSS per idle watcher: API {d['rss_kib_per_watcher']['api']} KiB, "
            f"Tarantool {d['rss_kib_per_watcher']['tarantool']} KiB; 429s {self.refused}"
        )


def rss_kib(pid: int) -> int:
    """Resident memory of `pid` and its live descendants."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").glob("*"):
                stack += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return total


class Watchers:
    """N clients, each on its own connection, looping `since = answer.revision`."""

    def __init__(self, base_url: str, token: str, count: int) -> None:
        self.url = base_url + "/api/watch"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.count = count
        self.received: list[list[tuple[int, float]]] = [[] for _ in range(count)]
        self.started = 0
        self.all_started = asyncio.Event()
        self.refused = 0

    async def run(self, since: int, stop_key: str) -> None:
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=POLL_TIMEOUT + 30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            await asyncio.gather(
                *(self._watch(http, i, since, stop_key) for i in range(self.count))
            )

    async def _watch(
        self, http: aiohttp.ClientSession, index: int, since: int, stop_key: str
    ) -> None:
        self.started += 1
        if self.started == self.count:
            self.all_started.set()
        while True:
            params = {"since": str(since), "timeout": str(POLL_TIMEOUT), "prefix": PREFIX}
            async with http.get(self.url, params=params, headers=self.headers) as resp:
                body = await resp.json()
                now = time.monotonic()
            if resp.status == 429:
                self.refused += 1
                await asyncio.sleep(0.05)
                continue
            assert resp.status == 200, body
            for change in body["changes"]:
                if change["key"] == stop_key:
                    return
                self.received[index].append((change["revision"], now))
            since = body["revision"]


async def _write(http: aiohttp.ClientSession, base_url: str, token: str, key: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(base_url + "/api/write", json={"data": {key: 1}}, headers=headers) as r:
        body = await r.json()
        assert r.status == 200, body
        return int(body["revision"])


async def measure(
    base_url: str, api_pid: int, tarantool_pid: int, read10: wrk.WrkJob, duration: float
) -> WatchFigures:
    user = await api_client.create_user(base_url)
    rss = {"api_idle": rss_kib(api_pid), "tarantool_idle": rss_kib(tarantool_pid)}
    alone = await asyncio.to_thread(wrk.run, read10, duration, 10)
    async with aiohttp.ClientSession() as http:
        since = await _write(http, base_url, user.token, PREFIX + "start")
        watchers = Watchers(base_url, user.token, WATCHERS)
        running = asyncio.create_task(watchers.run(since, PREFIX + "stop"))
        await watchers.all_started.wait()
        await asyncio.sleep(1.0)  # their calls reach Tarantool and park
        rss["api_watched"], rss["tarantool_watched"] = rss_kib(api_pid), rss_kib(tarantool_pid)
        watched = await asyncio.to_thread(wrk.run, read10, duration, 10)
        acked: dict[int, float] = {}
        for i in range(BURST):
            revision = await _write(http, base_url, user.token, f"{PREFIX}{i}")
            acked[revision] = time.monotonic()
        await _write(http, base_url, user.token, PREFIX + "stop")
        await asyncio.wait_for(running, POLL_TIMEOUT + 30)
    expected = sorted(acked)
    seen_all = sum(1 for got in watchers.received if [r for r, _ in got] == expected)
    latency = [(at - acked[r]) * 1000 for got in watchers.received for r, at in got if r in acked]
    return WatchFigures(WATCHERS, BURST, alone, watched, seen_all, latency, watchers.refused, rss)
