"""Which CPUs each process of a run may use.

On a small machine the server under test, wrk and Tarantool otherwise go wherever the
scheduler puts them, and that alone moved a round's throughput by a third on the 2-CPU
development VM (the same build's API / ceiling went 0.60x, 0.96x, 0.61x in three rounds).
With placement the server under test (the API with one worker, the ceiling, or the driver's
Python process) has the first CPU to itself and wrk and Tarantool share the others, so a
ratio compares the servers' own work. Two API workers are not placed: they need the CPUs
the others use, and that sharing is what the scaling figure shows.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    server: frozenset[int] | None = None  # None: wherever the scheduler likes
    load: frozenset[int] | None = None

    @staticmethod
    def plan(enabled: bool) -> "Placement":
        cpus = sorted(os.sched_getaffinity(0))
        if not enabled or len(cpus) < 2:
            return Placement()
        return Placement(frozenset(cpus[:1]), frozenset(cpus[1:]))

    def describe(self) -> str:
        if self.server is None or self.load is None:
            return "not placed"
        return f"server on CPU {sorted(self.server)}, wrk and Tarantool on CPUs {sorted(self.load)}"


def pinned(cpus: frozenset[int] | None) -> Callable[[], None] | None:
    """A preexec_fn for subprocess.Popen: the child and everything it starts keep to `cpus`."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)
