"""`make bench`: the API under wrk load next to the raw asynctnt driver, a minimal aiohttp
handler and etcd, in one run.

python -m bench.run [--duration 8] [--workers 1] [--connections 16] [--scenarios read10,...]
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import etcd, wrk
from bench.chart import draw
from bench.report import document, machine, render
from bench.runner import ALL_SCENARIOS, Bench

DEFAULT_OUTPUT = Path(__file__).with_name("results") / "latest.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each")
    parser.add_argument("--workers", type=int, default=1, help="kv-api serve --workers N")
    parser.add_argument("--connections", type=int, default=16, help="concurrent clients")
    parser.add_argument("--login-connections", type=int, default=8, help="for login and mixed")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--scenarios", default=",".join(ALL_SCENARIOS), help="comma-separated")
    parser.add_argument("--no-driver", action="store_true", help="skip the asynctnt baseline")
    parser.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="skip the write floor: client-packed tuples handed to box_replace "
        "(bench/lua/packed_replace.lua), for write10, write1000 and write1000_ttl",
    )
    parser.add_argument(
        "--no-ceiling",
        action="store_true",
        help="skip the minimal aiohttp handler (bench/ceiling.py)",
    )
    parser.add_argument(
        "--no-etcd",
        dest="etcd",
        action="store_false",
        help="skip the peer: etcd on the same read10 and write1000 loads (bench/etcd.py)",
    )
    parser.add_argument(
        "--no-placement",
        dest="placement",
        action="store_false",
        help="let the scheduler place the processes (bench/placement.py)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="the API and the ceiling alternate this many times per scenario they share",
    )
    parser.add_argument(
        "--no-scaling",
        dest="scaling",
        action="store_false",
        help="skip read10 and write1000 with two API workers",
    )
    parser.add_argument("--profile", type=Path, help="py-spy stacks per scenario into this folder")
    parser.add_argument(
        "--api-env",
        action="append",
        default=[],
        metavar="KV_NAME=VALUE",
        help="extra setting for the API (repeatable); the run is then not production defaults",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results")
    args = parser.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(ALL_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {list(ALL_SCENARIOS)}")
    if any("=" not in item for item in args.api_env):
        parser.error("--api-env takes KV_NAME=VALUE")
    return args


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def config(args: argparse.Namespace) -> dict[str, Any]:
    keys = (
        "api_env",
        "duration",
        "warmup",
        "workers",
        "connections",
        "login_connections",
        "threads",
        "scenarios",
        "rounds",
        "placement",
        "etcd",
    )
    return {key: getattr(args, key) for key in keys}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk.require_wrk()
    if args.etcd and set(args.scenarios) & set(etcd.SCENARIOS):
        etcd.require_etcd()
    started, load_before = time.monotonic(), load_average()
    with tempfile.TemporaryDirectory(prefix="kv-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        try:
            bench.prepare()
            results = bench.run()
        finally:
            bench.stop()
    load = {"before": load_before, "after": load_average()}
    print(render(results))
    print(
        f"\nload average (1, 5, 15 min): before {load['before']}, after {load['after']}; "
        f"{os.cpu_count()} CPUs ({bench.placement.describe()}); "
        f"{time.monotonic() - started:.0f}s in all"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document(results, config(args), load), indent=2) + "\n")
    host = machine()
    title = f"make bench, {host['nproc']} CPUs ({host['cpu']}), Python {host['python']}"
    chart = draw(results, args.output.with_suffix(".svg"), title)
    print(f"results written to {args.output} and {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
