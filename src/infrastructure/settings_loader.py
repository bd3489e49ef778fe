import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kv_api.infrastructure.settings import Settings, SettingsError, TarantoolAddress, _Reader


def _bootstrap(text: str) -> tuple[str, str]:
    name, sep, password = text.partition(":")
    if not sep or not name or not password:
        raise ValueError
    return name, password


def _secret(text: str) -> str:
    if len(text.encode()) < 32:
        raise SettingsError("the JWT secret must be at least 32 bytes")
    return text


def _replicas(text: str) -> tuple[TarantoolAddress, ...]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    return tuple(TarantoolAddress.parse(p, "KV_TARANTOOL_REPLICA_URIS") for p in parts)


def _uri_part(uri: str | None, part: str) -> str | None:
    """`user:password@host:port` also works; the separate variables win."""
    if not uri or "@" not in uri:
        return None
    parts = urlsplit(uri if "://" in uri else "tcp://" + uri)
    value = getattr(parts, part)
    return unquote(value) if value else None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    read = _Reader(os.environ if env is None else env)
    uri = read.raw("KV_TARANTOOL_URI")
    defaults = Settings()
    return Settings(
        host=read.raw("KV_HOST") or defaults.host,
        port=read.integer("KV_PORT", defaults.port, 0, 65535),
        data_dir=Path(read.raw("KV_DATA_DIR") or defaults.data_dir),
        tarantool=TarantoolAddress.parse(uri, "KV_TARANTOOL_URI") if uri else None,
        tarantool_user=read.raw("KV_TARANTOOL_USER") or _uri_part(uri, "username"),
        tarantool_password=read.raw("KV_TARANTOOL_PASSWORD") or _uri_part(uri, "password"),
        replicas=read.get(
            "KV_TARANTOOL_REPLICA_URIS", (), _replicas, "expected host:port[,host:port...]"
        ),
        read_from_replicas=read.boolean("KV_READ_FROM_REPLICAS", False),
        jwt_secret=read.get("KV_JWT_SECRET", None, _secret, "too short", secret=True),
        token_ttl=read.integer("KV_TOKEN_TTL", defaults.token_ttl, 10, 30 * 24 * 3600),
        bootstrap_user=read.get(
            "KV_BOOTSTRAP_USER", None, _bootstrap, "expected name:password", secret=True
        ),
        log_level=read.choice(
            "KV_LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}, upper=True
        ),
        log_format=read.choice("KV_LOG_FORMAT", "json", {"json", "text"}),
        access_log=read.boolean("KV_ACCESS_LOG", defaults.access_log),
        password_composition=read.boolean("KV_PASSWORD_COMPOSITION", False),
        argon2_memory_kib=read.integer(
            "KV_ARGON2_MEMORY_KIB", defaults.argon2_memory_kib, 8, 4 * 1024 * 1024
        ),
        argon2_time_cost=read.integer("KV_ARGON2_TIME_COST", defaults.argon2_time_cost, 1, 100),
        argon2_parallelism=read.integer(
            "KV_ARGON2_PARALLELISM", defaults.argon2_parallelism, 1, 64
        ),
        hash_workers=read.integer("KV_HASH_WORKERS", defaults.hash_workers, 1, 64),
        login_max_failures=read.integer(
            "KV_LOGIN_MAX_FAILURES", defaults.login_max_failures, 1, 1_000_000
        ),
        login_window=read.integer("KV_LOGIN_WINDOW", defaults.login_window, 1, 7 * 24 * 3600),
        max_items=read.integer("KV_MAX_ITEMS", defaults.max_items, 1, 1_000_000),
        max_value_bytes=read.integer(
            "KV_MAX_VALUE_BYTES", defaults.max_value_bytes, 16, 512 * 1024 * 1024
        ),
        max_body_bytes=read.integer("KV_MAX_BODY_BYTES", defaults.max_body_bytes, 1024, 2**31),
        max_depth=read.integer("KV_MAX_DEPTH", defaults.max_depth, 1, 500),
        connect_timeout=read.number(
            "KV_TARANTOOL_CONNECT_TIMEOUT", defaults.connect_timeout, 0.1, 600
        ),
        request_timeout=read.number(
            "KV_TARANTOOL_REQUEST_TIMEOUT", defaults.request_timeout, 0.1, 600
        ),
        shutdown_timeout=read.number("KV_SHUTDOWN_TIMEOUT", defaults.shutdown_timeout, 0, 3600),
        wal_mode=read.choice("KV_WAL_MODE", "write", {"write", "fsync"}),
        tarantool_memory_mb=read.integer(
            "KV_TARANTOOL_MEMORY_MB", defaults.tarantool_memory_mb, 64, 1024 * 1024
        ),
        tarantool_binary=read.raw("KV_TARANTOOL_BINARY") or defaults.tarantool_binary,
        migrations_dir=Path(read.raw("KV_MIGRATIONS_DIR") or defaults.migrations_dir),
        # Limits of the HTTP edge against hostile or broken clients (docs/security-limits.md)
        header_timeout=read.number("KV_HEADER_TIMEOUT", defaults.header_timeout, 0.1, 3600),
        body_timeout=read.number("KV_BODY_TIMEOUT", defaults.body_timeout, 0.1, 3600),
        keepalive_timeout=read.number(
            "KV_KEEPALIVE_TIMEOUT", defaults.keepalive_timeout, 0.1, 3600
        ),
        max_connections=read.integer("KV_MAX_CONNECTIONS", defaults.max_connections, 1, 1_000_000),
        max_header_bytes=read.integer(
            "KV_MAX_HEADER_BYTES", defaults.max_header_bytes, 1024, 1024 * 1024
        ),
        max_response_bytes=read.integer(
            "KV_MAX_RESPONSE_BYTES", defaults.max_response_bytes, 1024, 2**31
        ),
        register_max_per_window=read.integer(
            "KV_REGISTER_MAX", defaults.register_max_per_window, 1, 1_000_000_000
        ),
        register_window=read.integer("KV_REGISTER_WINDOW", defaults.register_window, 1, 86400),
        max_hash_queue=read.integer("KV_MAX_HASH_QUEUE", defaults.max_hash_queue, 1, 1_000_000),
    )
