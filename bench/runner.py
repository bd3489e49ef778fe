"""One benchmark run: the processes, the wrk scenarios against the API (alternating with the
ceiling and etcd where they share a scenario), then the driver."""

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from bench import api_client, driver, etcd, neighbour, profile, watch, wrk
from bench.cpu import tree_seconds
from bench.payloads import Batch, batches, dataset, login_body
from bench.placement import Placement
from bench.report import Results
from bench.servers import ApiServer, CeilingServer, TarantoolServer
from bench.stats import Measurement, combine
from kv_api.infrastructure.settings_loader import load_settings
from kv_api.presentation.gc_tuning import tune_for_serving

T = TypeVar("T")
KV_SCENARIOS = ("read10", "write10", "write1000", "read1000", "write1000_ttl", "cas1000")
ALL_SCENARIOS = (*KV_SCENARIOS, "login", "mixed", "watch", "neighbour")
# the writes measured against the floor too: client-packed tuples handed to box_replace
FLOOR_SCENARIOS = ("write10", "write1000", "write1000_ttl")
SCALING_SCENARIOS = ("read10", "write1000")  # measured again with two API workers
# Per-request framework cost dominates these; for write1000 the API's C write path outruns a
# minimal Python handler, so a "ceiling" there would be a floor.
CEILING_SCENARIOS = ("read10", "write10", "read1000")
LOGIN_DRAIN_S = 2.0  # for the logins still hashing when wrk stops


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(coro)
    return uvloop.run(coro)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def round_ratios(api: list[Measurement], other: list[Measurement]) -> list[float]:
    """API / the other side's req/s, round by round (a round the other did not serve is left
    out rather than divided by zero)."""
    return [
        mine.requests_per_s / theirs.requests_per_s
        for mine, theirs in zip(api, other, strict=True)
        if theirs.requests_per_s
    ]


def round_order(sides: list[str], index: int) -> list[str]:
    """Who goes first rotates round by round (with two sides: API first, then the other)."""
    shift = index % len(sides)
    return sides[shift:] + sides[:shift]


class Bench:
    def __init__(self, args: argparse.Namespace, work_dir: Path) -> None:
        self.args = args
        self.work_dir = work_dir
        self.batches = batches(dataset())
        self.results = Results()
        self.tarantool = TarantoolServer(work_dir / "tarantool")
        extra = dict(item.split("=", 1) for item in args.api_env)
        self.api = ApiServer(work_dir / "api", self.tarantool, args.workers, extra)
        self.user: api_client.BenchUser | None = None
        self.placement = Placement.plan(args.placement)
        self.etcd_names = [n for n in args.scenarios if n in etcd.SCENARIOS] if args.etcd else []
        self.etcd: etcd.EtcdServer | None = None

    def prepare(self) -> None:
        log(f"starting tarantool and kv-api serve --workers {self.args.workers}")
        log(f"placement: {self.placement.describe()}")
        self.tarantool.start(cpus=self.placement.load)
        self.api.start(cpus=self.placement.server if self.args.workers == 1 else None)
        self.user = run_async(api_client.create_user(self.api.base_url))
        for name in ("write1000", *KV_SCENARIOS):
            run_async(api_client.check_batch(self.api.base_url, self.user, self.batches[name]))
        log(f"ready: {self.api.base_url} as {self.user.username}; request bodies checked")
        if self.etcd_names:
            self.start_etcd()

    def start_etcd(self) -> None:
        self.results.etcd_version = etcd.version()
        self.etcd = etcd.EtcdServer(self.work_dir / "etcd")
        log(f"starting etcd {self.results.etcd_version} with its data in {etcd.DATA_ROOT}")
        self.etcd.start(cpus=self.etcd_cpus())
        self.etcd.load([self.batches["write1000"], *(self.batches[n] for n in self.etcd_names)])
        log(f"etcd ready: {self.etcd.base_url}; the data set loaded, txn bodies checked")

    def etcd_cpus(self) -> frozenset[int] | None:
        """The CPUs the API and Tarantool use between them: etcd is both server and store in
        one process, so it gets what the pair gets (and shares wrk's CPU as Tarantool does)."""
        if self.placement.server is None or self.placement.load is None:
            return None
        return self.placement.server | self.placement.load

    def stop_etcd(self) -> None:
        if self.etcd is not None:
            self.etcd.stop()
            self.etcd = None

    def stop(self) -> None:
        """Every process this run started, each by its own PID, even when one stop fails."""
        try:
            self.stop_etcd()
        finally:
            try:
                self.api.stop()
            finally:
                self.tarantool.stop()

    def kv_job(
        self,
        batch: Batch,
        connections: int,
        base_url: str | None = None,
        user: api_client.BenchUser | None = None,
        script: str = "kv.lua",
    ) -> wrk.WrkJob:
        """`batch` as `user` (the bench user by default) sends it."""
        user = user or self.user
        assert user is not None
        body = self.work_dir / f"{batch.name}.json"
        body.write_bytes(batch.body_bytes())
        env = {"BENCH_TOKEN": user.token, "BENCH_BODY_FILE": str(body)}
        return wrk.WrkJob(
            (base_url or self.api.base_url) + batch.path(),
            script,
            env,
            connections,
            self.args.threads,
            cpus=self.placement.load,
        )

    def cas_job(self, batch: Batch, connections: int) -> wrk.WrkJob:
        """One wrk thread per connection, each the only writer of its keys, starting from
        their versions read just now: every conditional write can win."""
        assert self.user is not None
        prefix = self.work_dir / f"{batch.name}-"
        for owner in range(connections):
            Path(f"{prefix}{owner}.json").write_bytes(batch.for_owner(owner).body_bytes())
        versions = run_async(
            api_client.cas_versions(self.api.base_url, self.user, batch, connections)
        )
        env = {
            "BENCH_TOKEN": self.user.token,
            "BENCH_BODY_PREFIX": str(prefix),
            "BENCH_VERSIONS": ",".join(map(str, versions)),
        }
        return wrk.WrkJob(
            self.api.base_url + batch.path(),
            "cas.lua",
            env,
            connections,
            connections,
            cpus=self.placement.load,
        )

    def etcd_job(self, batch: Batch, connections: int) -> wrk.WrkJob:
        assert self.etcd is not None
        body = self.work_dir / f"etcd-{batch.name}.json"
        body.write_bytes(etcd.txn_bytes(batch))
        return wrk.WrkJob(
            self.etcd.base_url + etcd.TXN_PATH,
            "etcd.lua",
            {"BENCH_BODY_FILE": str(body)},
            connections,
            self.args.threads,
            cpus=self.placement.load,
        )

    def login_job(self) -> wrk.WrkJob:
        assert self.user is not None
        env = {"BENCH_USERNAME": self.user.username, "BENCH_PASSWORD": self.user.password}
        return wrk.WrkJob(
            self.api.base_url + "/api/login",
            "login.lua",
            env,
            self.args.login_connections,
            self.args.threads,
            cpus=self.placement.load,
        )

    def measure_api(self, name: str) -> None:
        log(f"api {name}: {self.args.duration:.0f}s")
        with profile.recording(self.args.profile, name, self.api.pid, self.args.duration):
            if name == "mixed":
                self.measure_mixed()
            elif name == "watch":
                self.measure_watch()
            elif name == "neighbour":
                self.measure_neighbour()
            elif name == "login":
                # no warm-up run: its last logins would still be hashing when the next run
                # starts, and the API counts logins in progress against the caller's address
                self.results.api[name] = self.run_measured(name, self.login_job(), 1)
            elif name == "cas1000":
                batch = self.batches[name]
                if self.args.warmup > 0:
                    wrk.run(self.cas_job(batch, self.args.connections), self.args.warmup, 1)
                job = self.cas_job(batch, self.args.connections)
                self.results.api[name] = self.run_measured(name, job, batch.size)
            else:
                batch = self.batches[name]
                job = self.kv_job(batch, self.args.connections)
                if self.args.warmup > 0:
                    wrk.run(job, self.args.warmup, batch.size)
                self.results.api[name] = self.run_measured(name, job, batch.size)
        if name in ("login", "mixed"):
            time.sleep(LOGIN_DRAIN_S)

    def run_measured(self, name: str, job: wrk.WrkJob, size: int) -> Measurement:
        return self.run_on(self.api.pid, name, job, size)

    def run_on(
        self,
        pid: int,
        name: str,
        job: wrk.WrkJob,
        size: int,
        seconds: float | None = None,
        uses_tarantool: bool = True,
    ) -> Measurement:
        """wrk against the server `pid`, with that server's and (when it is the server's
        store) Tarantool's CPU per request."""
        api_cpu, server_cpu = tree_seconds(pid), self.tarantool_cpu()
        measured = wrk.run(job, self.args.duration if seconds is None else seconds, size)
        api_cpu = tree_seconds(pid) - api_cpu
        server_cpu = self.tarantool_cpu() - server_cpu
        if measured.errors:
            self.explain_errors(name, job, measured)
        count = max(1, measured.requests)
        store_cpu = server_cpu / count * 1e6 if uses_tarantool else None
        return replace(measured, cpu_us=api_cpu / count * 1e6, tarantool_cpu_us=store_cpu)

    def explain_errors(self, name: str, job: wrk.WrkJob, measured: Measurement) -> None:
        assert self.user is not None
        if name == "login":
            body = login_body(self.user.username, self.user.password)
            headers: dict[str, str] = {}
        elif job.script == "etcd.lua":
            body, headers = etcd.txn_bytes(self.batches[name]), {}
        else:
            body, headers = self.batches[name].body_bytes(0), self.user.headers()
        sample = run_async(api_client.sample_answer(job.url, body, headers))
        log(
            f"{job.script} {name}: {measured.errors} errors ({measured.non_2xx} non-2xx, "
            f"statuses {measured.statuses or 'not counted'}); one request now: {sample}"
        )

    def tarantool_cpu(self) -> float:
        return tree_seconds(self.tarantool.pid)

    def measure_mixed(self) -> None:
        reads = self.kv_job(self.batches["read10"], self.args.connections)
        logins = self.login_job().start(self.args.duration)
        self.results.api["mixed"] = wrk.run(reads, self.args.duration, 10)
        self.results.mixed_logins = wrk.finish(logins, 1)

    def measure_watch(self) -> None:
        """read10 alone, then with the watchers idle, then their write burst (bench/watch.py)."""
        job = self.kv_job(self.batches["read10"], self.args.connections)
        if self.args.warmup > 0:
            wrk.run(job, self.args.warmup, 10)
        figures = run_async(
            watch.measure(
                self.api.base_url, self.api.pid, self.tarantool.pid, job, self.args.duration
            )
        )
        self.results.watch = figures.as_dict()
        log(figures.summary())

    def measure_neighbour(self) -> None:
        """read10 alone, then while a second user floods (bench/neighbour.py)."""
        base = self.api.base_url
        flooder = run_async(api_client.create_user(base))
        flood_batch = self.batches[neighbour.FLOOD_BATCH]
        run_async(api_client.check_batch(base, flooder, self.batches["write10"]))
        run_async(api_client.check_batch(base, flooder, flood_batch))
        measured = self.kv_job(self.batches["read10"], self.args.connections)
        flood = self.kv_job(
            flood_batch, neighbour.FLOOD_CONNECTIONS, user=flooder, script="flood.lua"
        )
        if self.args.warmup > 0:
            wrk.run(measured, self.args.warmup, 10)
        figures = neighbour.measure(measured, flood, self.args.duration)
        self.results.neighbour = figures.as_dict()
        log(figures.summary())

    def start_ceiling(self) -> CeilingServer:
        assert self.user is not None
        session = self.user.session()
        return CeilingServer(
            self.work_dir / "ceiling",
            self.tarantool,
            f"{session.user_id}:{session.token_version}:{session.token_id}",
        ).start(cpus=self.placement.server)

    def measure_alternating(self, name: str, ceiling: CeilingServer | None) -> None:
        """The API and its references for this scenario (the ceiling, etcd) in rounds of
        duration / rounds each, who goes first rotating: a machine whose speed drifts during
        the run (a busy neighbour, a throttled CPU) then moves them all, and each ratio is the
        median of its rounds."""
        batch = self.batches[name]
        connections = self.args.connections
        # side: (the server's PID, its wrk job, whether Tarantool is its store)
        sides = {"api": (self.api.pid, self.kv_job(batch, connections), True)}
        if ceiling is not None:
            job = self.kv_job(batch, connections, ceiling.base_url)
            sides["ceiling"] = (ceiling.pid, job, True)
        if self.etcd is not None and name in self.etcd_names:
            sides["etcd"] = (self.etcd.pid, self.etcd_job(batch, connections), False)
        rounds = max(1, self.args.rounds)
        part = self.args.duration / rounds
        log(f"{' and '.join(sides)} {name}: {rounds} rounds of {part:.0f}s each")
        if self.args.warmup > 0:
            for _, job, _ in sides.values():
                wrk.run(job, self.args.warmup, batch.size)
        measured: dict[str, list[Measurement]] = {side: [] for side in sides}
        with profile.recording(self.args.profile, name, self.api.pid, self.args.duration):
            for index in range(rounds):
                for side in round_order(list(sides), index):
                    pid, job, uses_tarantool = sides[side]
                    measured[side].append(
                        self.run_on(pid, name, job, batch.size, part, uses_tarantool)
                    )
        self.results.api[name] = combine(measured["api"])
        for side, whole, per_round in (
            ("ceiling", self.results.ceiling, self.results.ceiling_rounds),
            ("etcd", self.results.etcd, self.results.etcd_rounds),
        ):
            if side in measured:
                whole[name] = combine(measured[side])
                per_round[name] = round_ratios(measured["api"], measured[side])

    def measure_scaling(self, names: list[str]) -> None:
        """The same scenarios with two API workers, against the same Tarantool."""
        extra = dict(item.split("=", 1) for item in self.args.api_env)
        self.api.stop()
        self.api = ApiServer(self.work_dir / "api2", self.tarantool, 2, extra).start()
        for name in names:
            log(f"api {name} with 2 workers: {self.args.duration:.0f}s")
            batch = self.batches[name]
            job = self.kv_job(batch, self.args.connections)
            if self.args.warmup > 0:
                wrk.run(job, self.args.warmup, batch.size)
            self.results.two_workers[name] = self.run_measured(name, job, batch.size)

    def measure_driver(self, name: str, floor: bool = False) -> None:
        """The driver's calls of the API's function, or with `floor` the floor function's."""
        assert self.user is not None
        log(f"{'floor' if floor else 'driver'} {name}: {self.args.duration:.0f}s")
        target = driver.DriverTarget(
            self.tarantool.address, self.tarantool.user, self.tarantool.password
        )
        load = driver.Load(
            self.batches[name],
            self.user.session(),
            load_settings(self.api.environment()),
            self.args.connections,
            self.args.duration,
            self.args.warmup,
        )
        # the driver's Python process is the server under test here: it gets the server's CPU
        everywhere = os.sched_getaffinity(0)
        if self.placement.server is not None:
            os.sched_setaffinity(0, self.placement.server)
        try:
            measured = run_async(driver.measure(target, load, self.tarantool_cpu, floor))
        finally:
            os.sched_setaffinity(0, everywhere)
        (self.results.floor if floor else self.results.driver)[name] = measured

    def run(self) -> Results:
        ceiling_names = [name for name in self.args.scenarios if name in CEILING_SCENARIOS]
        ceiling = None if self.args.no_ceiling or not ceiling_names else self.start_ceiling()
        try:
            for name in self.args.scenarios:
                with_ceiling = ceiling if name in ceiling_names else None
                if with_ceiling is not None or name in self.etcd_names:
                    self.measure_alternating(name, with_ceiling)
                else:
                    self.measure_api(name)
        finally:
            try:
                if ceiling is not None:
                    ceiling.stop()
            finally:
                self.stop_etcd()  # its part is done: it should not sit beside what follows
        scaling = [name for name in SCALING_SCENARIOS if name in self.args.scenarios]
        if self.args.scaling and self.args.workers == 1 and scaling:
            self.measure_scaling(scaling)
        tune_for_serving()  # the API's garbage-collector settings, for a like-for-like driver
        if not self.args.no_driver:
            for name in self.args.scenarios:
                if name in KV_SCENARIOS:
                    self.measure_driver(name)
        # last: the floor writes whole tuples past the API's bookkeeping
        if self.args.floor:
            for name in self.args.scenarios:
                if name in FLOOR_SCENARIOS:
                    self.measure_driver(name, floor=True)
        return self.results
