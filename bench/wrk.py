"""Load from a separate process: wrk with the Lua scripts in bench/wrk/."""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.placement import pinned
from bench.stats import Measurement

SCRIPTS = Path(__file__).with_name("wrk")
MARKER = "BENCH_RESULT "


@dataclass(frozen=True)
class WrkJob:
    """One wrk run: `script` is a file in bench/wrk/, `env` what that script reads."""

    url: str
    script: str
    env: dict[str, str]
    connections: int
    threads: int = 1
    timeout_s: int = 30
    cpus: frozenset[int] | None = None  # bench/placement.py

    def argv(self, duration_s: float) -> list[str]:
        return [
            require_wrk(),
            f"--threads={min(self.threads, self.connections)}",
            f"--connections={self.connections}",
            f"--duration={max(1, round(duration_s))}s",
            f"--timeout={self.timeout_s}s",
            f"--script={SCRIPTS / self.script}",
            self.url,
        ]

    def start(self, duration_s: float) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(duration_s),
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=pinned(self.cpus),
        )


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk (or `make bench`)")
    return path


def finish(process: subprocess.Popen[str], batch_size: int) -> Measurement:
    output, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output}")
    return parse(output, batch_size)


def run(job: WrkJob, duration_s: float, batch_size: int) -> Measurement:
    return finish(job.start(duration_s), batch_size)


def parse(output: str, batch_size: int) -> Measurement:
    lines = [line for line in output.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise RuntimeError(f"wrk printed no {MARKER.strip()} line:\n{output}")
    raw = json.loads(lines[-1][len(MARKER) :])
    errors = raw["errors"]
    return Measurement(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        batch_size=batch_size,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors=sum(errors.values()),
        non_2xx=errors["status"],
        statuses=raw.get("statuses") or None,
    )
