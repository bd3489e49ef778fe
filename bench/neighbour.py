"""The `neighbour` scenario: one user's read10 alone, then while another user floods the same
API process at FLOOD_CONNECTIONS connections; the p99 of both runs, and what the flood got
(past KV_USER_MAX_INFLIGHT its requests are answered 429 at once)."""

import time
from dataclasses import dataclass
from typing import Any

from bench import wrk
from bench.stats import Measurement

FLOOD_CONNECTIONS = 64
FLOOD_BATCH = "read10"  # the flooder's own ten keys, the request the measured user sends
FLOOD_LEAD_S = 1.0  # the flood runs this long before and after the measured run


@dataclass(frozen=True)
class NeighbourFigures:
    alone: Measurement
    flooded: Measurement
    flood: Measurement

    def refused_share(self) -> float:
        statuses = self.flood.statuses or {}
        return statuses.get("429", 0) / max(1, sum(statuses.values()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "flood_connections": FLOOD_CONNECTIONS,
            "flood_batch": FLOOD_BATCH,
            "alone": self.alone.as_dict(),
            "flooded": self.flooded.as_dict(),
            "flood": self.flood.as_dict(),
            "p99_factor": round(self.flooded.p99_ms / max(1e-9, self.alone.p99_ms), 2),
            "summary": self.summary(),
        }

    def summary(self) -> str:
        return (
            f"neighbour: read10 p99 alone {self.alone.p99_ms:.2f} ms "
            f"({self.alone.requests_per_s:,.0f} req/s), while another user floods at "
            f"{FLOOD_CONNECTIONS} connections {self.flooded.p99_ms:.2f} ms "
            f"({self.flooded.requests_per_s:,.0f} req/s); the flood: "
            f"{self.flood.requests_per_s:,.0f} req/s, {self.refused_share():.0%} answered 429"
        )


def measure(measured: wrk.WrkJob, flood: wrk.WrkJob, seconds: float) -> NeighbourFigures:
    """`measured` alone for `seconds`, then again inside a flood that starts FLOOD_LEAD_S
    before it and ends FLOOD_LEAD_S after."""
    alone = wrk.run(measured, seconds, 10)
    flooding = flood.start(seconds + 2 * FLOOD_LEAD_S)
    try:
        time.sleep(FLOOD_LEAD_S)
        flooded = wrk.run(measured, seconds, 10)
    finally:
        flood_result = wrk.finish(flooding, 10)
    return NeighbourFigures(alone, flooded, flood_result)
