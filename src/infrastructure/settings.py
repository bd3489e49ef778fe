import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from kv_api.domain.changes import WatchLimits
from kv_api.domain.keys import BatchLimits
from kv_api.domain.quotas import QuotaPolicy

# The domain's defaults are the settings' defaults.
_BATCH, _WATCH, _QUOTA = BatchLimits(), WatchLimits(), QuotaPolicy()


class StartupError(Exception):
    """The service cannot start; the message is one line that says why and what to do."""


class SettingsError(StartupError):
    """Bad configuration; the message is a single line that names every bad variable."""


@dataclass(frozen=True)
class TarantoolAddress:
    host: str
    port: int

    @classmethod
    def parse(cls, uri: str) -> "TarantoolAddress":
        """`host:port` or `tcp://[user:password@]host:port`; the ValueError says what is wrong
        without repeating the URI, which may carry a password."""
        text = uri if "://" in uri else "tcp://" + uri
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"not a host:port address ({exc})") from None
        if not parts.hostname or port is None:
            raise ValueError("expected host:port, e.g. 127.0.0.1:3301")
        return cls(parts.hostname, port)


def default_hash_workers(cpus: int | None = None, processes: int = 1) -> int:
    """Password-hashing threads per API process: half the CPUs, shared by the processes, at
    least one. argon2id is memory-hard; on 2 cores a second hashing thread gave no more logins
    per second under load but doubled the reads' p99 (`make bench`, mixed)."""
    return max(1, (cpus or os.cpu_count() or 1) // 2 // max(1, processes))


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("./var")
    tarantool: TarantoolAddress | None = None
    tarantool_user: str | None = None
    tarantool_password: str | None = None
    replicas: tuple[TarantoolAddress, ...] = ()
    read_from_replicas: bool = False
    jwt_secret: str | None = None
    jwt_issuer: str = "kv-api"
    token_ttl: int = 1800
    bootstrap_user: tuple[str, str] | None = None
    log_level: str = "INFO"
    log_format: str = "json"
    access_log: bool = True
    password_composition: bool = False
    argon2_memory_kib: int = 19456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    hash_workers: int = field(default_factory=default_hash_workers)
    login_max_failures: int = 10
    login_window: int = 900
    max_items: int = _BATCH.max_items
    max_value_bytes: int = _BATCH.max_value_bytes
    max_body_bytes: int = 16 * 1024 * 1024
    max_depth: int = _BATCH.max_depth
    # expiry bounds (seconds) and the change log kept per user (count) and in time (seconds)
    min_ttl: int = _BATCH.min_ttl
    max_ttl: int = _BATCH.max_ttl
    changes_keep: int = 100_000
    changes_retention: int = 3600
    # rows of a deleted account's data purged per transaction: short enough to stall no one
    account_purge_batch: int = 1000
    # the change feed: the longest wait of one watch call, the process's limit of waiting
    # watches (well below Tarantool's net_msg_max, 768, across all workers) and the
    # heartbeat interval of a stream
    watch_max_timeout: float = _WATCH.max_timeout
    max_watches: int = 200
    # one user's share of them: a few tabs and services each, never every slot
    user_max_watches: int = 10
    # JSON bytes of one feed answer or stream batch, and how long a stream's client may take
    # to read one before it is closed
    watch_max_bytes: int = 8 * 1024 * 1024
    watch_send_timeout: float = 30.0
    watch_heartbeat: float = 15.0
    connect_timeout: float = 3.0
    request_timeout: float = 5.0
    shutdown_timeout: float = 15.0
    wal_mode: str = "write"
    tarantool_memory_mb: int = 1024
    tarantool_binary: str = "tarantool"
    migrations_dir: Path = field(default_factory=lambda: _default_migrations_dir())
    # operations: scrape token, store fullness warning
    metrics_token: str | None = None
    store_warn_percent: int = 85
    # Limits of the HTTP edge against hostile or broken clients (docs/security-limits.md)
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    keepalive_timeout: float = 30.0
    max_connections: int = 1000
    max_header_bytes: int = 16 * 1024
    max_response_bytes: int = 32 * 1024 * 1024
    register_max_per_window: int = 20
    register_window: int = 60
    max_hash_queue: int = 64
    # browsers: the origins whose pages may call the API (CORS), as browsers send Origin
    cors_origins: tuple[str, ...] = ()
    # tenants: each user's default quota (None: unlimited), a user's requests in flight per
    # process (docs/decisions/017), and whether anyone may register
    user_max_keys: int | None = _QUOTA.max_keys
    user_max_bytes: int | None = _QUOTA.max_bytes
    user_max_inflight: int = 32
    registration: str = "open"

    @property
    def embedded(self) -> bool:
        return self.tarantool is None


def _default_migrations_dir() -> Path:
    """The migrations installed with the package (kv_api.migrations), in a checkout or a wheel."""
    return Path(str(resources.files("kv_api.migrations")))
