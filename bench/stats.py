import statistics
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Measurement:
    requests: int
    seconds: float
    batch_size: int
    p50_ms: float
    p99_ms: float
    errors: int = 0
    non_2xx: int = 0
    cpu_us: float | None = None  # CPU of the API (or the driver's process) per request
    tarantool_cpu_us: float | None = None  # CPU of Tarantool per request
    statuses: dict[str, int] | None = None  # by HTTP status, where the script counts them

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def keys_per_s(self) -> float:
        return self.requests_per_s * self.batch_size

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "requests_per_s": round(self.requests_per_s, 1),
            "keys_per_s": round(self.keys_per_s, 1),
        }


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (what wrk's histogram reports)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def combine(rounds: list[Measurement]) -> Measurement:
    """Rounds of one scenario as one measurement: counts and times added, CPU weighted by
    requests, the median round's p50 and the worst round's p99."""
    requests = sum(m.requests for m in rounds)

    def weighted(values: list[tuple[float | None, int]]) -> float | None:
        if any(value is None for value, _ in values) or not requests:
            return None
        return sum(value * count for value, count in values if value is not None) / requests

    statuses: dict[str, int] = {}
    for m in rounds:
        for status, count in (m.statuses or {}).items():
            statuses[status] = statuses.get(status, 0) + count
    return Measurement(
        requests=requests,
        seconds=sum(m.seconds for m in rounds),
        batch_size=rounds[0].batch_size,
        p50_ms=statistics.median(m.p50_ms for m in rounds),
        p99_ms=max(m.p99_ms for m in rounds),
        errors=sum(m.errors for m in rounds),
        non_2xx=sum(m.non_2xx for m in rounds),
        cpu_us=weighted([(m.cpu_us, m.requests) for m in rounds]),
        tarantool_cpu_us=weighted([(m.tarantool_cpu_us, m.requests) for m in rounds]),
        statuses=statuses or None,
    )
