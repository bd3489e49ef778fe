"""The `watch` scenario: N long-poll watchers idle while read10 runs (read10 alone first, in
the same run), then a write burst every watcher must see whole, and memory per idle watcher."""

import asyncio
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp

from bench import api_client, wrk
from bench.cpu import tree_seconds
from bench.stats import Measurement, percentile

WATCHERS = 200  # the default KV_MAX_WATCHES of one API process
BURST = 100  # writes, one after another, each awaited
PACED = 20  # then writes 100 ms apart: the latency of a change when the watchers are idle
PACE_S = 0.1
IDLE_S = 5.0
PREFIX = "watch/"
POLL_TIMEOUT = 30


@dataclass
class WatchFigures:
    watchers: int
    burst: int
    read10_alone: Measurement
    read10_watched: Measurement
    read10_after: Measurement  # alone again, once the watchers are gone: the run's noise
    seen_all: int  # watchers that saw every write of the burst, once each, in order
    latency_ms: list[float] = field(default_factory=list)  # ack of a write -> a watcher has it
    paced_ms: list[float] = field(default_factory=list)  # the same for the paced writes
    refused: int = 0  # 429 answers the watchers got (0: the limit was never reached)
    rss_kib: dict[str, int] = field(default_factory=dict)
    idle_cpu_ms: dict[str, float] = field(default_factory=dict)  # over IDLE_S, watchers parked

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
            "read10_after": self.read10_after.as_dict(),
            "read10_throughput_ratio": round(
                self.read10_watched.requests_per_s / max(1e-9, self.read10_alone.requests_per_s), 3
            ),
            "seen_all": self.seen_all,
            "events": len(ordered),
            "latency_p50_ms": round(percentile(ordered, 0.5), 2),
            "latency_p99_ms": round(percentile(ordered, 0.99), 2),
            "paced_writes": PACED,
            "paced_p50_ms": round(percentile(sorted(self.paced_ms), 0.5), 2),
            "paced_p99_ms": round(percentile(sorted(self.paced_ms), 0.99), 2),
            "refused_429": self.refused,
            "rss_kib": self.rss_kib,
            "idle_seconds": IDLE_S,
            "idle_cpu_ms": self.idle_cpu_ms,
            "rss_kib_per_watcher": {"api": round(api_per, 1), "tarantool": round(tt_per, 1)},
        }

    def summary(self) -> str:
        d = self.figures()
        alone, watched, after = self.read10_alone, self.read10_watched, self.read10_after
        return (
            f"watch: read10 alone / with {self.watchers} idle long polls / alone again: "
            f"{alone.requests_per_s:,.0f} / {watched.requests_per_s:,.0f} / "
            f"{after.requests_per_s:,.0f} req/s, p99 {alone.p99_ms:.2f} / {watched.p99_ms:.2f} / "
            f"{after.p99_ms:.2f} ms, API CPU {alone.cpu_us:.0f} / {watched.cpu_us:.0f} / "
            f"{after.cpu_us:.0f} us per request; {self.burst} writes "
            f"({BURST} back to back, then {PACED} paced): "
            f"{self.seen_all}/{self.watchers} watchers saw every one ({d['events']} events), "
            f"burst ack -> event p50 {d['latency_p50_ms']} ms, p99 {d['latency_p99_ms']} ms "
            f"({PACED} writes {PACE_S * 1000:.0f} ms apart: p50 {d['paced_p50_ms']} ms, "
            f"p99 {d['paced_p99_ms']} ms); "
            f"CPU over {IDLE_S:.0f} s with the watchers parked: API "
            f"{self.idle_cpu_ms['api']:.0f} ms, Tarantool {self.idle_cpu_ms['tarantool']:.0f} ms; "
            f"RSS per idle watcher: API {_per_watcher(d['rss_kib_per_watcher']['api'])}, "
            f"Tarantool {_per_watcher(d['rss_kib_per_watcher']['tarantool'])}; "
            f"429s {self.refused}"
        )


def _per_watcher(kib: float) -> str:
    # a process's RSS also falls (freed pages, a collection) while the watchers park
    return f"{kib} KiB" if kib >= 0 else f"not measurable (RSS fell by {-kib} KiB per watcher)"


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


def _read10(read10: wrk.WrkJob, duration: float, api_pid: int) -> Measurement:
    cpu = tree_seconds(api_pid)
    measured = wrk.run(read10, duration, 10)
    per_request = (tree_seconds(api_pid) - cpu) / max(1, measured.requests) * 1e6
    return replace(measured, cpu_us=per_request)


async def measure(
    base_url: str, api_pid: int, tarantool_pid: int, read10: wrk.WrkJob, duration: float
) -> WatchFigures:
    user = await api_client.create_user(base_url)
    rss = {"api_idle": rss_kib(api_pid), "tarantool_idle": rss_kib(tarantool_pid)}
    alone = await asyncio.to_thread(_read10, read10, duration, api_pid)
    async with aiohttp.ClientSession() as http:
        since = await _write(http, base_url, user.token, PREFIX + "start")
        watchers = Watchers(base_url, user.token, WATCHERS)
        running = asyncio.create_task(watchers.run(since, PREFIX + "stop"))
        await watchers.all_started.wait()
        await asyncio.sleep(1.0)  # their calls reach Tarantool and park
        rss["api_watched"], rss["tarantool_watched"] = rss_kib(api_pid), rss_kib(tarantool_pid)
        cpu = tree_seconds(api_pid), tree_seconds(tarantool_pid)
        await asyncio.sleep(IDLE_S)
        idle_cpu = {
            "api": (tree_seconds(api_pid) - cpu[0]) * 1000,
            "tarantool": (tree_seconds(tarantool_pid) - cpu[1]) * 1000,
        }
        watched = await asyncio.to_thread(_read10, read10, duration, api_pid)
        acked: dict[int, float] = {}
        for i in range(BURST):
            revision = await _write(http, base_url, user.token, f"{PREFIX}{i}")
            acked[revision] = time.monotonic()
        await asyncio.sleep(1.0)
        paced: dict[int, float] = {}
        for i in range(PACED):
            revision = await _write(http, base_url, user.token, f"{PREFIX}paced{i}")
            paced[revision] = time.monotonic()
            await asyncio.sleep(PACE_S)
        await _write(http, base_url, user.token, PREFIX + "stop")
        await asyncio.wait_for(running, POLL_TIMEOUT + 30)
    after = await asyncio.to_thread(_read10, read10, duration, api_pid)
    expected = sorted(acked) + sorted(paced)
    seen_all = sum(1 for got in watchers.received if [r for r, _ in got] == expected)
    got = [(r, at) for received in watchers.received for r, at in received]
    latency = [(at - acked[r]) * 1000 for r, at in got if r in acked]
    paced_ms = [(at - paced[r]) * 1000 for r, at in got if r in paced]
    figures = WatchFigures(
        WATCHERS, BURST + PACED, alone, watched, after, seen_all, latency, paced_ms
    )
    figures.refused, figures.rss_kib, figures.idle_cpu_ms = watchers.refused, rss, idle_cpu
    return figures
