"""The run as a picture: per scenario, API vs ceiling vs etcd vs driver, throughput and p99."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: the bench runs on servers and in CI
import matplotlib.pyplot as plt

from bench.report import Results
from bench.stats import Measurement

SERIES = (
    ("API", "api", "#1f77b4"),
    ("ceiling", "ceiling", "#2ca02c"),
    ("etcd", "etcd", "#ff7f0e"),
    ("driver", "driver", "#7f7f7f"),
)
WIDTH = 0.2


def _values(results: Results, names: list[str], source: str, attr: str) -> list[float]:
    measurements: dict[str, Measurement] = getattr(results, source)
    return [getattr(measurements[n], attr) if n in measurements else 0.0 for n in names]


def draw(results: Results, path: Path, title: str) -> Path:
    names = [
        n for n in results.api if n in results.driver or n in results.ceiling or n in results.etcd
    ]
    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "kv-api-bench"})
    figure, (rate, p99) = plt.subplots(1, 2, figsize=(11, 4.2))
    for offset, (label, source, colour) in enumerate(SERIES):
        xs = [i + (offset - (len(SERIES) - 1) / 2) * WIDTH for i in range(len(names))]
        rates = _values(results, names, source, "requests_per_s")
        rate.bar(xs, rates, WIDTH, label=label, color=colour)
        p99.bar(xs, _values(results, names, source, "p99_ms"), WIDTH, label=label, color=colour)
        # the API bar carries API / ceiling, the etcd bar API / etcd
        ratio_of = {"api": results.ceiling_ratio, "etcd": results.etcd_ratio}.get(source)
        if ratio_of is not None:
            for x, name, value in zip(xs, names, rates, strict=True):
                ratio = ratio_of(name)
                if ratio is not None:
                    rate.annotate(f"{ratio:.2f}x", (x, value), ha="center", va="bottom", size=7)
    for axes, label in ((rate, "requests/s (log)"), (p99, "p99 latency, ms (log)")):
        axes.set_yscale("log")
        axes.set_xticks(range(len(names)), names)
        axes.set_ylabel(label)
        axes.grid(axis="y", alpha=0.3)
    rate.legend(loc="upper right", fontsize=8)
    rate.set_title("throughput (API bar: API / ceiling; etcd bar: API / etcd)", fontsize=10)
    p99.set_title("tail latency", fontsize=10)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, metadata={"Date": None})
    plt.close(figure)
    return path
