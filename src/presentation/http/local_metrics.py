"""Counters and histograms of one process, kept as plain numbers and turned into metric
families only when /metrics is scraped.

prometheus_client's own take a lock per update and find a histogram's bucket with a loop in
Python: the four updates of a small read (requests, latency, batch size, keys) cost it about
6% of its instructions (docs/decisions/018-*). These are updated from the event loop's thread
only, and give the same exposition text (a unit test compares them). Under `serve --workers N`
`Metrics` uses prometheus_client's instead: a scrape must add up every worker's shared files.
"""

from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import INF, floatToGoString


class CounterChild:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1) -> None:
        if amount < 0:
            raise ValueError("counters can only be incremented by non-negative amounts")
        self.value += amount


class HistogramChild:
    """Counts per bucket (not yet cumulative) and the sum. `bisect_left` finds the first bound
    not below the value: the bucket `value <= le` that prometheus_client's loop finds."""

    __slots__ = ("_bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        self.counts[bisect_left(self._bounds, amount)] += 1
        self.sum += amount


Child = TypeVar("Child", CounterChild, HistogramChild)


class _Family(Generic[Child]):
    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        registry: CollectorRegistry,
        make: Callable[[], Child],
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = tuple(labelnames)
        self._make: Callable[[], Child] = make
        self._children: dict[tuple[str, ...], Child] = {}
        if not self._labelnames:
            self._children[()] = make()
        registry.register(self)

    def labels(self, *values: str) -> Child:
        key = tuple(str(value) for value in values)
        child = self._children.get(key)
        if child is None:
            if len(key) != len(self._labelnames):
                raise ValueError(f"{self._name}: expected labels {self._labelnames}")
            child = self._children[key] = self._make()
        return child

    def _unlabelled(self) -> Child:
        if self._labelnames:
            raise ValueError(f"{self._name}: labels {self._labelnames} are required")
        return self._children[()]

    def describe(self) -> list[Metric]:
        return self.collect()  # names the family for the registry's clash check

    def collect(self) -> list[Metric]:
        raise NotImplementedError


class LocalCounter(_Family[CounterChild]):
    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        registry: CollectorRegistry,
    ) -> None:
        super().__init__(name, documentation, labelnames, registry, CounterChild)

    def inc(self, amount: float = 1) -> None:
        self._unlabelled().inc(amount)

    def collect(self) -> list[Metric]:
        family = CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)
        for values, child in self._children.items():
            family.add_metric(list(values), child.value)
        return [family]


class LocalHistogram(_Family[HistogramChild]):
    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        bounds = tuple(float(bound) for bound in buckets if bound != INF)
        if list(bounds) != sorted(bounds):
            raise ValueError(f"{name}: buckets must be in increasing order")
        self._les = [floatToGoString(bound) for bound in (*bounds, INF)]  # type: ignore[no-untyped-call]
        super().__init__(name, documentation, labelnames, registry, lambda: HistogramChild(bounds))

    def observe(self, amount: float) -> None:
        self._unlabelled().observe(amount)

    def collect(self) -> list[Metric]:
        family = HistogramMetricFamily(self._name, self._documentation, labels=self._labelnames)
        for values, child in self._children.items():
            buckets, total = [], 0
            for le, count in zip(self._les, child.counts, strict=True):
                total += count
                buckets.append((le, float(total)))
            family.add_metric(list(values), buckets, child.sum)
        return [family]
