"""One table on stdout and one JSON document: API figures next to the driver's, and targets."""

import os
import platform
from dataclasses import dataclass, field
from typing import Any

from bench.stats import Measurement

READ10_TARGET_RPS = 5000.0
DRIVER_SHARE_TARGET = 0.5
MIXED_P99_FACTOR = 2.0


@dataclass
class Results:
    api: dict[str, Measurement] = field(default_factory=dict)
    driver: dict[str, Measurement] = field(default_factory=dict)
    mixed_logins: Measurement | None = None

    def ratio(self, name: str) -> float | None:
        api, driver = self.api.get(name), self.driver.get(name)
        if api is None or driver is None or not driver.requests_per_s:
            return None
        return api.requests_per_s / driver.requests_per_s


@dataclass(frozen=True)
class Target:
    name: str
    wanted: str
    actual: str
    met: bool | None


def targets(results: Results) -> list[Target]:
    found: list[Target] = []
    read10 = results.api.get("read10")
    if read10 is not None:
        rps = read10.requests_per_s
        found.append(
            Target(
                "read10 req/s",
                f">= {READ10_TARGET_RPS:,.0f}",
                f"{rps:,.0f}",
                rps >= READ10_TARGET_RPS,
            )
        )
    for name in ("write1000", "read1000"):
        ratio = results.ratio(name)
        if ratio is not None:
            wanted = f">= {DRIVER_SHARE_TARGET:.2f}x driver"
            found.append(
                Target(f"{name} keys/s", wanted, f"{ratio:.2f}x", ratio >= DRIVER_SHARE_TARGET)
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
    "driver req/s",
    "drv p50",
    "drv p99",
    "drv CPU us",
    "API/driver",
    "errors",
)


def rows(results: Results) -> list[tuple[str, ...]]:
    table: list[tuple[str, ...]] = []
    for name, api in results.api.items():
        driver = results.driver.get(name)
        ratio = results.ratio(name)
        table.append(
            (
                name,
                _fmt(api.requests_per_s),
                _fmt(api.keys_per_s) if api.batch_size > 1 else "-",
                _fmt(api.p50_ms, 2),
                _fmt(api.p99_ms, 2),
                _fmt(api.cpu_us),
                _fmt(driver.requests_per_s if driver else None),
                _fmt(driver.p50_ms if driver else None, 2),
                _fmt(driver.p99_ms if driver else None, 2),
                _fmt(driver.cpu_us if driver else None),
                f"{ratio:.2f}x" if ratio is not None else "-",
                str(api.errors),
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
                *["-"] * 6,
                str(logins.errors),
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
    for target in targets(results):
        verdict = {True: "met", False: "NOT met", None: "-"}[target.met]
        out.append(f"target {target.name}: {target.wanted}, got {target.actual}: {verdict}")
    return "\n".join(out)


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
        "mixed_logins": results.mixed_logins.as_dict() if results.mixed_logins else None,
        "ratios": {
            name: round(r, 3) for name in results.api if (r := results.ratio(name)) is not None
        },
        "targets": [vars(t) for t in targets(results)],
    }
