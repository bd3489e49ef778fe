"""One table on stdout and one JSON document: API figures next to the driver's, the
ceiling's and etcd's, and targets."""

import os
import platform
import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.stats import Measurement

# Machines differ by 2x in plain Python speed: targets are ratios measured in the same run.
READ10_CEILING_TARGET = 0.8
DRIVER_SHARE_TARGET = 0.5
FLOOR_SHARE_TARGET = 0.6  # write1000 against client-packed tuples handed to box_replace
MIXED_P99_FACTOR = 2.0
# Below this share of its CPU the ceiling was held back by the load side (wrk, Tarantool),
# and its req/s understates what the framework can do.
CEILING_BUSY = 0.9


def _share(part: Measurement | None, whole: Measurement | None) -> float | None:
    if part is None or whole is None or not whole.requests_per_s:
        return None
    return part.requests_per_s / whole.requests_per_s


def _median_round(
    rounds: list[float] | None, part: Measurement | None, whole: Measurement | None
) -> float | None:
    """The median of the rounds' ratios when the two alternated, else of the whole runs."""
    if rounds:
        return statistics.median(rounds)
    return _share(part, whole)


@dataclass
class Results:
    api: dict[str, Measurement] = field(default_factory=dict)
    driver: dict[str, Measurement] = field(default_factory=dict)
    # the write floor (bench/lua/packed_replace.lua) through the same driver
    floor: dict[str, Measurement] = field(default_factory=dict)
    ceiling: dict[str, Measurement] = field(default_factory=dict)
    # API / ceiling of each round: the two alternate, so the machine's drift falls on both
    ceiling_rounds: dict[str, list[float]] = field(default_factory=dict)
    # the peer (bench/etcd.py) and API / etcd of each round, alternated like the ceiling
    etcd: dict[str, Measurement] = field(default_factory=dict)
    etcd_rounds: dict[str, list[float]] = field(default_factory=dict)
    etcd_version: str | None = None
    two_workers: dict[str, Measurement] = field(default_factory=dict)
    mixed_logins: Measurement | None = None
    watch: dict[str, Any] | None = None  # bench/watch.py
    neighbour: dict[str, Any] | None = None  # bench/neighbour.py

    def ratio(self, name: str) -> float | None:
        """API / raw driver for the same batch."""
        return _share(self.api.get(name), self.driver.get(name))

    def floor_ratio(self, name: str) -> float | None:
        """API / the write floor for the same batch."""
        return _share(self.api.get(name), self.floor.get(name))

    def ceiling_ratio(self, name: str) -> float | None:
        """API / the minimal aiohttp handler (bench/ceiling.py) for the same requests: the
        median of the rounds when they alternated, else of the whole runs."""
        return _median_round(
            self.ceiling_rounds.get(name), self.api.get(name), self.ceiling.get(name)
        )

    def etcd_ratio(self, name: str) -> float | None:
        """API / etcd for the same load, taken like the ceiling's ratio."""
        return _median_round(self.etcd_rounds.get(name), self.api.get(name), self.etcd.get(name))

    def ceiling_cpu_ratio(self, name: str) -> float | None:
        """Ceiling CPU per request / API CPU per request: what the ratio of req/s is when
        both servers are CPU-bound."""
        api, ceiling = self.api.get(name), self.ceiling.get(name)
        if api is None or ceiling is None or not api.cpu_us or ceiling.cpu_us is None:
            return None
        return ceiling.cpu_us / api.cpu_us

    def ceiling_busy(self, name: str) -> float | None:
        """The share of one CPU the ceiling server used while measured."""
        ceiling = self.ceiling.get(name)
        if ceiling is None or ceiling.cpu_us is None:
            return None
        return ceiling.requests_per_s * ceiling.cpu_us / 1e6

    def scaling(self, name: str) -> float | None:
        """Two API workers / one."""
        return _share(self.two_workers.get(name), self.api.get(name))


@dataclass(frozen=True)
class Target:
    name: str
    wanted: str
    actual: str
    met: bool | None


def targets(results: Results) -> list[Target]:
    found: list[Target] = []
    ceiling = results.ceiling_ratio("read10")
    if ceiling is not None:
        wanted = f">= {READ10_CEILING_TARGET:.2f}x ceiling"
        actual = f"{ceiling:.2f}x"
        met: bool | None = ceiling >= READ10_CEILING_TARGET
        by_cpu, busy = results.ceiling_cpu_ratio("read10"), results.ceiling_busy("read10")
        if by_cpu is not None:
            actual += f" ({by_cpu:.2f}x by CPU per request)"
        if busy is not None and busy < CEILING_BUSY:
            # the ceiling's req/s was held back by the load side: the req/s ratio overstates
            actual += f"; the ceiling used {busy:.2f} of its CPU, so this run cannot tell"
            met = None
        found.append(Target("read10 req/s", wanted, actual, met))
    for name in ("write1000", "read1000"):
        ratio = results.ratio(name)
        if ratio is not None:
            wanted = f">= {DRIVER_SHARE_TARGET:.2f}x driver"
            found.append(
                Target(f"{name} keys/s", wanted, f"{ratio:.2f}x", ratio >= DRIVER_SHARE_TARGET)
            )
    floor = results.floor_ratio("write1000")
    if floor is not None:
        wanted = f">= {FLOOR_SHARE_TARGET:.2f}x floor"
        found.append(
            Target("write1000 req/s", wanted, f"{floor:.2f}x", floor >= FLOOR_SHARE_TARGET)
        )
    mixed, idle = results.api.get("mixed"), results.api.get("read10")
    if mixed is not None and idle is not None and idle.p99_ms:
        factor = mixed.p99_ms / idle.p99_ms
        found.append(
            Target(
                "mixed read p99",
                f"<= {MIXED_P99_FACTOR:.0f}x idle p99",
                f"{factor:.2f}x",
                factor <= MIXED_P99_FACTOR,
            )
        )
    return found


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


HEADER = (
    "scenario",
    "req/s",
    "keys/s",
    "p50 ms",
    "p99 ms",
    "CPU us/req",
    "ceiling req/s",
    "ceil p99",
    "API/ceiling",
    "etcd req/s",
    "etcd p99",
    "API/etcd",
    "driver req/s",
    "drv p50",
    "drv p99",
    "drv CPU us",
    "API/driver",
    "errors",
    "409s api/drv",
)


def _conflicts(name: str, api: Measurement, driver: Measurement | None) -> str:
    """Conditional writes that lost: cas1000's writers track their versions, so 0/0."""
    if name != "cas1000":
        return "-"
    return "/".join(str((m.statuses or {}).get("409", 0)) for m in (api, driver) if m)


def _ratio_text(ratio: float | None) -> str:
    return f"{ratio:.2f}x" if ratio is not None else "-"


def _rounds_text(ratio: float | None, rounds: list[float] | None) -> str:
    """The median ratio and, when there were rounds, their range in brackets."""
    text = _ratio_text(ratio)
    if rounds and len(rounds) > 1:
        text += f" ({min(rounds):.2f}-{max(rounds):.2f})"
    return text


def _ceiling_text(results: Results, name: str) -> str:
    return _rounds_text(results.ceiling_ratio(name), results.ceiling_rounds.get(name))


def _etcd_text(results: Results, name: str) -> str:
    return _rounds_text(results.etcd_ratio(name), results.etcd_rounds.get(name))


def rows(results: Results) -> list[tuple[str, ...]]:
    table: list[tuple[str, ...]] = []
    for name, api in results.api.items():
        driver, ceiling = results.driver.get(name), results.ceiling.get(name)
        etcd = results.etcd.get(name)
        table.append(
            (
                name,
                _fmt(api.requests_per_s),
                _fmt(api.keys_per_s) if api.batch_size > 1 else "-",
                _fmt(api.p50_ms, 2),
                _fmt(api.p99_ms, 2),
                _fmt(api.cpu_us),
                _fmt(ceiling.requests_per_s if ceiling else None),
                _fmt(ceiling.p99_ms if ceiling else None, 2),
                _ceiling_text(results, name),
                _fmt(etcd.requests_per_s if etcd else None),
                _fmt(etcd.p99_ms if etcd else None, 2),
                _etcd_text(results, name),
                _fmt(driver.requests_per_s if driver else None),
                _fmt(driver.p50_ms if driver else None, 2),
                _fmt(driver.p99_ms if driver else None, 2),
                _fmt(driver.cpu_us if driver else None),
                _ratio_text(results.ratio(name)),
                str(api.errors),
                _conflicts(name, api, driver),
            )
        )
    if results.mixed_logins is not None:
        logins = results.mixed_logins
        table.append(
            (
                "  (mixed logins)",
                _fmt(logins.requests_per_s),
                "-",
                _fmt(logins.p50_ms, 2),
                _fmt(logins.p99_ms, 2),
                *["-"] * 12,
                str(logins.errors),
                "-",
            )
        )
    return table


def render(results: Results) -> str:
    table = [HEADER, *rows(results)]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        return "| " + " | ".join(cells) + " |"

    out = [line(HEADER), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in table[1:]]
    out.append("")
    for name, two in results.two_workers.items():
        one = results.api[name]
        out.append(
            f"workers {name}: 1 -> 2 workers {one.requests_per_s:,.0f} -> "
            f"{two.requests_per_s:,.0f} req/s ({_ratio_text(results.scaling(name))}), "
            f"p99 {one.p99_ms:.2f} -> {two.p99_ms:.2f} ms"
        )
    for name, floor in results.floor.items():
        out.append(floor_line(results, name, floor))
    for name, etcd in results.etcd.items():
        out.append(etcd_line(results, name, etcd))
    if results.watch is not None:
        out.append(results.watch["summary"])
    if results.neighbour is not None:
        out.append(results.neighbour["summary"])
    for target in targets(results):
        verdict = {True: "met", False: "NOT met", None: "not known"}[target.met]
        out.append(f"target {target.name}: {target.wanted}, got {target.actual}: {verdict}")
    return "\n".join(out)


def floor_line(results: Results, name: str, floor: Measurement) -> str:
    """The API against client-packed tuples handed to box_replace, and Tarantool's CPU per
    request of each: the write path's own cost inside Tarantool."""
    api = results.api[name]
    line = (
        f"floor {name}: API/floor {_ratio_text(results.floor_ratio(name))} by req/s"
        f" ({api.requests_per_s:,.0f} / {floor.requests_per_s:,.0f})"
    )
    if api.tarantool_cpu_us and floor.tarantool_cpu_us:
        line += (
            f", Tarantool CPU us/req {api.tarantool_cpu_us:,.0f} / {floor.tarantool_cpu_us:,.0f}"
        )
    driver = results.driver.get(name)
    if driver is not None and driver.tarantool_cpu_us:
        line += f" (driver {driver.tarantool_cpu_us:,.0f})"
    return line


def etcd_line(results: Results, name: str, etcd: Measurement) -> str:
    """CPU per request beside the req/s ratio: etcd is one process, the API two (itself and
    Tarantool), so the sum is what compares."""
    api = results.api[name]
    cpu = "-"
    if api.cpu_us is not None and etcd.cpu_us is not None:
        tarantool = api.tarantool_cpu_us or 0.0
        cpu = (
            f"CPU us/req API {api.cpu_us:,.0f} + Tarantool {tarantool:,.0f}"
            f" = {api.cpu_us + tarantool:,.0f}, etcd {etcd.cpu_us:,.0f}"
        )
    label = " ".join(filter(None, ("etcd", results.etcd_version, name)))
    return (
        f"{label}: API/etcd {_etcd_text(results, name)} by req/s"
        f" ({api.requests_per_s:,.0f} / {etcd.requests_per_s:,.0f}), p99"
        f" {api.p99_ms:.2f} / {etcd.p99_ms:.2f} ms, {etcd.errors} etcd errors; {cpu}"
    )


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for text in cpuinfo:
                if text.startswith("model name"):
                    model = text.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version()}


def document(results: Results, config: dict[str, Any], load: dict[str, Any]) -> dict[str, Any]:
    return {
        "machine": machine(),
        "load_average": load,
        "config": config,
        "api": {name: m.as_dict() for name, m in results.api.items()},
        "driver": {name: m.as_dict() for name, m in results.driver.items()},
        "floor": {name: m.as_dict() for name, m in results.floor.items()},
        "ceiling": {name: m.as_dict() for name, m in results.ceiling.items()},
        "etcd": {name: m.as_dict() for name, m in results.etcd.items()},
        "etcd_version": results.etcd_version,
        "two_workers": {name: m.as_dict() for name, m in results.two_workers.items()},
        "mixed_logins": results.mixed_logins.as_dict() if results.mixed_logins else None,
        "watch": results.watch,
        "neighbour": results.neighbour,
        "ratios": {
            name: round(r, 3) for name in results.api if (r := results.ratio(name)) is not None
        },
        "floor_ratios": {
            name: round(r, 3)
            for name in results.floor
            if (r := results.floor_ratio(name)) is not None
        },
        "ceiling_ratios": {
            name: round(r, 3)
            for name in results.api
            if (r := results.ceiling_ratio(name)) is not None
        },
        "ceiling_cpu_ratios": {
            name: round(r, 3)
            for name in results.ceiling
            if (r := results.ceiling_cpu_ratio(name)) is not None
        },
        "ceiling_rounds": {
            name: [round(r, 3) for r in rounds] for name, rounds in results.ceiling_rounds.items()
        },
        "etcd_ratios": {
            name: round(r, 3)
            for name in results.etcd
            if (r := results.etcd_ratio(name)) is not None
        },
        "etcd_rounds": {
            name: [round(r, 3) for r in rounds] for name, rounds in results.etcd_rounds.items()
        },
        "scaling": {
            name: round(r, 3)
            for name in results.two_workers
            if (r := results.scaling(name)) is not None
        },
        "targets": [vars(t) for t in targets(results)],
    }
