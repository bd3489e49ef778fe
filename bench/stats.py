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
