"""`make bench` alternates the API and the ceiling in rounds: how rounds add up, how the ratio
is taken, and where the processes are placed. No timing is asserted."""

import dataclasses
import os
from pathlib import Path

from bench.placement import Placement
from bench.report import Results, render, rows, targets
from bench.servers import ApiServer, TarantoolServer
from bench.stats import Measurement, combine
from bench.watch import WATCHERS
from kv_api.infrastructure.settings_loader import load_settings


def _round(requests: int, p50: float, p99: float, cpu: float) -> Measurement:
    return Measurement(
        requests=requests, seconds=3.0, batch_size=10, p50_ms=p50, p99_ms=p99, cpu_us=cpu
    )


def test_rounds_add_up_counts_weight_cpu_and_keep_the_worst_p99() -> None:
    whole = combine([_round(3000, 5.0, 9.0, 300.0), _round(1000, 7.0, 20.0, 500.0)])
    assert (whole.requests, whole.seconds, whole.requests_per_s) == (4000, 6.0, 4000 / 6)
    assert whole.cpu_us == (3000 * 300.0 + 1000 * 500.0) / 4000
    assert (whole.p50_ms, whole.p99_ms) == (6.0, 20.0)


def test_the_ratio_is_the_median_round_and_the_table_shows_the_range() -> None:
    api, top = _round(2000, 5, 9, 300), _round(3000, 4, 8, 200)
    results = Results(
        api={"read10": api}, ceiling={"read10": top}, ceiling_rounds={"read10": [0.6, 0.9, 0.62]}
    )
    assert results.ceiling_ratio("read10") == 0.62  # not the whole runs' 0.67
    [row] = rows(results)
    assert "0.62x (0.60-0.90)" in row
    assert Results(api={"read10": api}, ceiling={"read10": top}).ceiling_ratio("read10") == 2 / 3


def test_the_server_under_test_gets_a_cpu_of_its_own() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    placed = Placement.plan(True)
    if len(cpus) < 2:
        assert placed == Placement()
        return
    assert placed.server == frozenset(cpus[:1]) and placed.load == frozenset(cpus[1:])
    assert Placement.plan(False) == Placement()


def test_a_ceiling_held_back_by_the_load_side_decides_nothing() -> None:
    api = _round(3000, 5, 9, 330)
    busy = Measurement(requests=12_000, seconds=3.0, batch_size=10, p50_ms=4, p99_ms=8, cpu_us=240)
    idle = Measurement(requests=10_500, seconds=3.0, batch_size=10, p50_ms=4, p99_ms=8, cpu_us=240)
    [bound] = targets(Results(api={"read10": api}, ceiling={"read10": busy}))
    assert bound.met is False and "0.73x by CPU per request" in bound.actual
    [held] = targets(Results(api={"read10": api}, ceiling={"read10": idle}))
    assert held.met is None and "used 0.84 of its CPU" in held.actual


def test_the_write_floor_gives_a_ratio_a_line_and_the_write1000_target() -> None:
    api = Measurement(
        requests=700, seconds=1.0, batch_size=1000, p50_ms=20, p99_ms=30, tarantool_cpu_us=900
    )
    floor = Measurement(
        requests=1000, seconds=1.0, batch_size=1000, p50_ms=9, p99_ms=12, tarantool_cpu_us=500
    )
    results = Results(api={"write1000": api}, floor={"write1000": floor})
    assert results.floor_ratio("write1000") == 0.7
    [target] = targets(results)
    assert (target.name, target.actual, target.met) == ("write1000 req/s", "0.70x", True)
    assert "floor write1000: API/floor 0.70x by req/s (700 / 1,000)" in render(results)
    assert "Tarantool CPU us/req 900 / 500" in render(results)
    slow = Results(
        api={"write1000": api}, floor={"write1000": dataclasses.replace(floor, requests=2000)}
    )
    assert targets(slow)[0].met is False


def test_the_bench_api_lets_one_user_park_every_watcher_of_the_watch_scenario(
    tmp_path: Path,
) -> None:
    api = ApiServer(tmp_path / "api", TarantoolServer(tmp_path / "tt"), workers=1)
    settings = load_settings(api.environment())
    assert settings.user_max_watches >= WATCHERS and settings.max_watches >= WATCHERS
