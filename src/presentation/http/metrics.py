"""Prometheus metrics: one registry per app, or the shared files of `serve --workers N`."""

import os
import tempfile
from typing import Protocol

from aiohttp.web_urldispatcher import AbstractResource
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from kv_api.domain.quotas import NearQuota
from kv_api.presentation.http.request_context import UNMATCHED

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

disable_created_metrics()  # type: ignore[no-untyped-call]


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def fresh_multiprocess_dir() -> str:
    """For the supervisor of `serve --workers N`: each run starts its counters from zero."""
    return tempfile.mkdtemp(prefix="kv-api-metrics-")


def worker_exited(pid: int, path: str) -> None:
    """Drop the dead worker's live gauges; its counters and histograms stay in the totals."""
    mark_process_dead(pid, path)  # type: ignore[no-untyped-call]


class StoreFigures(Protocol):
    @property
    def arena_used(self) -> int: ...
    @property
    def arena_size(self) -> int: ...
    @property
    def quota_used(self) -> int: ...
    @property
    def quota_size(self) -> int: ...
    @property
    def tuples(self) -> int: ...
    @property
    def checkpoint_age(self) -> float: ...


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    if multiprocess_dir() is None:
        process_collector.ProcessCollector(registry=registry)
        platform_collector.PlatformCollector(registry=registry)
        gc_collector.GCCollector(registry=registry)
    return registry


class Metrics:
    """The metric families, plus the labelled children of each route, method and status once
    made, so that a request costs two dictionary lookups before its two updates."""

    def __init__(self) -> None:
        self.registry = reg = _registry()
        self.requests = Counter(
            "kv_http_requests",
            "HTTP requests answered",
            ("route", "method", "status"),
            registry=reg,
        )
        self.latency = Histogram(
            "kv_http_request_duration_seconds",
            "time from the request reaching the app to its response, by route",
            ("route", "method"),
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        keys = Counter(
            "kv_keys", "keys written, read, deleted or expired", ("operation",), registry=reg
        )
        self.keys_written = keys.labels("written")
        self.keys_read = keys.labels("read")
        self.keys_deleted = keys.labels("deleted")
        self.keys_expired = keys.labels("expired")  # removed by the expiry purge
        self.watches_waiting = Gauge(
            "kv_watches_waiting",
            "watch calls waiting in Tarantool (summed over live workers; KV_MAX_WATCHES each)",
            multiprocess_mode="livesum",
            registry=reg,
        )
        self.changes_purged = Counter(
            "kv_changes_purged",
            "changes removed from the change log by its retention purge",
            registry=reg,
        )
        self.account_rows_purged = Counter(
            "kv_account_rows_purged",
            "rows of deleted accounts' data removed in the background",
            registry=reg,
        )
        batch = Histogram(
            "kv_batch_size",
            "pairs or keys per batch",
            ("operation",),
            buckets=BATCH_BUCKETS,
            registry=reg,
        )
        self.write_batch = batch.labels("write")
        self.read_batch = batch.labels("read")
        self.delete_batch = batch.labels("delete")
        self.storage_errors = Counter(
            "kv_storage_errors",
            "failed Tarantool calls by function and kind (unavailable, full, rejected, failed)",
            ("function", "kind"),
            registry=reg,
        )
        self.login_failures = Counter(
            "kv_login_failures", "logins refused for a wrong user or password", registry=reg
        )
        self.login_rate_limited = Counter(
            "kv_login_rate_limited", "logins refused by the failed-login throttle", registry=reg
        )
        self.tarantool_connected = Gauge(
            "kv_tarantool_connected",
            "1 when the connection to this Tarantool is up (min over live workers)",
            ["role", "index"],  # no address: /metrics must not map the internal network
            multiprocess_mode="livemin",
            registry=reg,
        )
        self._store_gauges(reg)
        self._http: dict[tuple[AbstractResource | None, str, int], tuple[Counter, Histogram]] = {}

    def _store_gauges(self, reg: CollectorRegistry) -> None:
        def gauge(name: str, text: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, text, labels, multiprocess_mode="livemax", registry=reg)

        self.arena_used = gauge("kv_tarantool_memtx_arena_used_bytes", "memtx arena in use")
        self.arena_size = gauge("kv_tarantool_memtx_arena_size_bytes", "memtx arena allocated")
        self.quota_used = gauge(
            "kv_tarantool_memtx_quota_used_bytes", "memtx memory taken from the quota"
        )
        self.quota_size = gauge(
            "kv_tarantool_memtx_quota_size_bytes", "memtx quota (KV_TARANTOOL_MEMORY_MB)"
        )
        self.tuples = gauge("kv_tarantool_tuples", "tuples in a space", ("space",))
        self.checkpoint_age = gauge(
            "kv_tarantool_checkpoint_age_seconds", "seconds since the last checkpoint (.snap)"
        )
        # counts only: a label per user would grow without bound and name the tenants
        self.users_at_quota = gauge(
            "kv_users_at_quota", "users whose keys or stored bytes are at their limit"
        )
        self.users_near_quota_count = gauge(
            "kv_users_near_quota",
            "users at 90% or more of their keys or stored bytes limit (those at it included)",
        )

    def store_stats(self, stats: StoreFigures) -> None:
        self.arena_used.set(stats.arena_used)
        self.arena_size.set(stats.arena_size)
        self.quota_used.set(stats.quota_used)
        self.quota_size.set(stats.quota_size)
        self.tuples.labels("kv_data").set(stats.tuples)
        self.checkpoint_age.set(stats.checkpoint_age)

    def users_near_quota(self, counts: NearQuota) -> None:
        self.users_at_quota.set(counts.at)
        self.users_near_quota_count.set(counts.near)

    def observe_request(
        self, resource: AbstractResource | None, method: str, status: int, seconds: float
    ) -> None:
        children = self._http.get((resource, method, status))
        if children is None:
            children = self._http_children(resource, method, status)
        children[0].inc()
        children[1].observe(seconds)

    def _http_children(
        self, resource: AbstractResource | None, method: str, status: int
    ) -> tuple[Counter, Histogram]:
        route = UNMATCHED if resource is None else resource.canonical
        label = method if method in _METHODS else "OTHER"
        children = (
            self.requests.labels(route, label, str(status)),
            self.latency.labels(route, label),
        )
        if method in _METHODS:  # arbitrary method names must not grow the cache
            self._http[(resource, method, status)] = children
        return children

    def storage_error(self, function: str, kind: str) -> None:
        self.storage_errors.labels(function, kind).inc()

    def connection_state(self, role: str, index: int, connected: bool) -> None:
        self.tarantool_connected.labels(role, str(index)).set(1 if connected else 0)

    def render(self) -> bytes:
        path = multiprocess_dir()
        if path is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
