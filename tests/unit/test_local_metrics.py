"""The process-local counters and histograms expose exactly what prometheus_client's do."""

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from kv_api.presentation.http.local_metrics import LocalCounter, LocalHistogram
from kv_api.presentation.http.metrics import LATENCY_BUCKETS

# on a bound, between bounds, below the first, past the last, zero, and large
VALUES = (0.0, 0.0005, 0.001, 0.0011, 0.0025, 0.2, 1.0, 9.99, 10.0, 10.5, 1e9)


def _feed(registry: CollectorRegistry, local: bool) -> None:
    counter, histogram = (LocalCounter, LocalHistogram) if local else (Counter, Histogram)
    requests = counter("t_requests", "requests", ["route", "status"], registry=registry)
    total = counter("t_total_things", "things", registry=registry)
    latency = histogram(
        "t_latency_seconds", "latency", ["route"], buckets=LATENCY_BUCKETS, registry=registry
    )
    sizes = histogram("t_sizes", "sizes", buckets=(1, 10, 100), registry=registry)
    for n, value in enumerate(VALUES):
        requests.labels("/api/read", 200 + n % 2).inc()
        requests.labels("/api/write", "200").inc(n)
        total.inc(0.5)
        latency.labels("/api/read" if n % 3 else "/api/write").observe(value)
        sizes.observe(n * 7)
    requests.labels("/never", "500")  # a child made but never counted is still shown


def test_the_exposition_text_is_the_same() -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    _feed(theirs, local=False)
    _feed(ours, local=True)
    assert generate_latest(ours).decode() == generate_latest(theirs).decode()


def test_names_clash_like_theirs_and_misuse_is_refused() -> None:
    registry = CollectorRegistry()
    LocalCounter("t_clash", "one", registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Counter("t_clash", "two", registry=registry)
    labelled = LocalCounter("t_labelled", "needs labels", ["a"], registry=registry)
    with pytest.raises(ValueError):
        labelled.inc()
    with pytest.raises(ValueError):
        labelled.labels("x", "y")
    with pytest.raises(ValueError):
        labelled.labels("x").inc(-1)
    with pytest.raises(ValueError):
        LocalHistogram("t_unsorted", "bad", buckets=(2, 1), registry=registry)
