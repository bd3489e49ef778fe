import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from environs import Env, EnvValidationError

from kv_api.domain.changes import CHANGE_OVERHEAD, JSON_PER_STORED_BYTE
from kv_api.domain.keys import MAX_KEY_BYTES
from kv_api.domain.quotas import MAX_BYTES_LIMIT, MAX_KEYS_LIMIT
from kv_api.infrastructure import settings_fields as kinds
from kv_api.infrastructure.security.tokens import MIN_SECRET_BYTES
from kv_api.infrastructure.settings import Settings, SettingsError

LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
SECRETS = {"KV_JWT_SECRET", "KV_BOOTSTRAP_USER", "KV_TARANTOOL_PASSWORD", "KV_METRICS_TOKEN"}
JWT_SECRET = kinds.at_least_bytes(MIN_SECRET_BYTES, "the JWT secret")
METRICS_TOKEN = kinds.at_least_bytes(16, "the metrics token")
URIS = {"KV_TARANTOOL_URI", "KV_TARANTOOL_REPLICA_URIS"}


class _Environment(Env):
    """environs over a given mapping (os.environ by default): values are stripped, blank means
    unset, and every bad variable is collected before one error is raised (seal)."""

    def __init__(self, source: Mapping[str, str]) -> None:
        super().__init__(eager=False)
        self._source = source
        for name, field in kinds.FIELDS.items():
            self.add_parser_from_field(name, field)

    # environs reads os.environ here; a given mapping keeps tests and callers hermetic.
    def _get_value(self, env_key: str, default: Any) -> Any:
        return self.raw(env_key) or default

    def raw(self, name: str) -> str:
        return self._source.get(name, "").strip()


def _shown(name: str, value: str) -> str:
    """The value as an error shows it: a secret never, a URI without its user:password."""
    if name in SECRETS:
        return "<hidden>"
    if name in URIS:
        value = ",".join(
            re.sub(r"^.*@", "<hidden>@", part, flags=re.S) for part in value.split(",")
        )
    return repr(value)


def _uri_part(uri: str, part: str) -> str | None:
    """`user:password@host:port` also works; the separate variables win."""
    if "@" not in uri:
        return None
    value = getattr(urlsplit(uri if "://" in uri else "tcp://" + uri), part)
    return unquote(value) if value else None


def _read(env: Any, d: Settings) -> dict[str, Any]:
    return {
        "host": env.str("KV_HOST", d.host),
        "port": env.whole("KV_PORT", d.port, low=0, high=65535),
        "data_dir": env.path("KV_DATA_DIR", d.data_dir),
        "tarantool": env.address("KV_TARANTOOL_URI", None),
        "tarantool_user": env.str("KV_TARANTOOL_USER", None),
        "tarantool_password": env.str("KV_TARANTOOL_PASSWORD", None),
        "replicas": env.addresses("KV_TARANTOOL_REPLICA_URIS", ()),
        "read_from_replicas": env.flag("KV_READ_FROM_REPLICAS", d.read_from_replicas),
        "jwt_secret": env.str("KV_JWT_SECRET", None, validate=JWT_SECRET),
        "token_ttl": env.whole("KV_TOKEN_TTL", d.token_ttl, low=10, high=30 * 24 * 3600),
        "bootstrap_user": env.login("KV_BOOTSTRAP_USER", None),
        "log_level": env.choice("KV_LOG_LEVEL", d.log_level, options=LOG_LEVELS, upper=True),
        "log_format": env.choice("KV_LOG_FORMAT", d.log_format, options={"json", "text"}),
        "access_log": env.flag("KV_ACCESS_LOG", d.access_log),
        "password_composition": env.flag("KV_PASSWORD_COMPOSITION", d.password_composition),
        "argon2_memory_kib": env.whole(
            "KV_ARGON2_MEMORY_KIB", d.argon2_memory_kib, low=8, high=4 * 1024 * 1024
        ),
        "argon2_time_cost": env.whole("KV_ARGON2_TIME_COST", d.argon2_time_cost, low=1, high=100),
        "argon2_parallelism": env.whole(
            "KV_ARGON2_PARALLELISM", d.argon2_parallelism, low=1, high=64
        ),
        "hash_workers": env.whole("KV_HASH_WORKERS", d.hash_workers, low=1, high=64),
        "login_max_failures": env.whole(
            "KV_LOGIN_MAX_FAILURES", d.login_max_failures, low=1, high=1_000_000
        ),
        "login_window": env.whole("KV_LOGIN_WINDOW", d.login_window, low=1, high=7 * 24 * 3600),
        "max_items": env.whole("KV_MAX_ITEMS", d.max_items, low=1, high=1_000_000),
        "max_value_bytes": env.whole(
            "KV_MAX_VALUE_BYTES", d.max_value_bytes, low=16, high=512 * 1024 * 1024
        ),
        "max_body_bytes": env.whole("KV_MAX_BODY_BYTES", d.max_body_bytes, low=1024, high=2**31),
        "max_depth": env.whole("KV_MAX_DEPTH", d.max_depth, low=1, high=500),
        "min_ttl": env.whole("KV_TTL_MIN", d.min_ttl, low=1, high=10 * 366 * 24 * 3600),
        "max_ttl": env.whole("KV_TTL_MAX", d.max_ttl, low=1, high=10 * 366 * 24 * 3600),
        # at least one whole batch, so a write never trims its own revision from the log
        "changes_keep": env.whole(
            "KV_CHANGES_KEEP", d.changes_keep, low=1_000_000 // 100, high=100_000_000
        ),
        "account_purge_batch": env.whole(
            "KV_ACCOUNT_PURGE_BATCH", d.account_purge_batch, low=10, high=100_000
        ),
        "changes_retention": env.whole(
            "KV_CHANGES_RETENTION", d.changes_retention, low=1, high=30 * 24 * 3600
        ),
        "watch_max_timeout": env.number(
            "KV_WATCH_MAX_TIMEOUT", d.watch_max_timeout, low=0.1, high=3600
        ),
        "max_watches": env.whole("KV_MAX_WATCHES", d.max_watches, low=1, high=100_000),
        "user_max_watches": env.whole(
            "KV_USER_MAX_WATCHES", d.user_max_watches, low=1, high=100_000
        ),
        "watch_max_bytes": env.whole(
            "KV_WATCH_MAX_BYTES", d.watch_max_bytes, low=64 * 1024, high=2**31
        ),
        "watch_send_timeout": env.number(
            "KV_WATCH_SEND_TIMEOUT", d.watch_send_timeout, low=0.1, high=3600
        ),
        "watch_heartbeat": env.number("KV_WATCH_HEARTBEAT", d.watch_heartbeat, low=0.1, high=3600),
        "connect_timeout": env.number(
            "KV_TARANTOOL_CONNECT_TIMEOUT", d.connect_timeout, low=0.1, high=600
        ),
        "request_timeout": env.number(
            "KV_TARANTOOL_REQUEST_TIMEOUT", d.request_timeout, low=0.1, high=600
        ),
        "shutdown_timeout": env.number("KV_SHUTDOWN_TIMEOUT", d.shutdown_timeout, low=0, high=3600),
        "wal_mode": env.choice("KV_WAL_MODE", d.wal_mode, options={"write", "fsync"}),
        "tarantool_memory_mb": env.whole(
            "KV_TARANTOOL_MEMORY_MB", d.tarantool_memory_mb, low=64, high=1024 * 1024
        ),
        "tarantool_binary": env.str("KV_TARANTOOL_BINARY", d.tarantool_binary),
        "migrations_dir": env.path("KV_MIGRATIONS_DIR", d.migrations_dir),
        # operations: scrape token, store fullness warning
        "metrics_token": env.str("KV_METRICS_TOKEN", None, validate=METRICS_TOKEN),
        "store_warn_percent": env.whole(
            "KV_STORE_WARN_PERCENT", d.store_warn_percent, low=1, high=100
        ),
        # Limits of the HTTP edge against hostile or broken clients (docs/security-limits.md)
        "header_timeout": env.number("KV_HEADER_TIMEOUT", d.header_timeout, low=0.1, high=3600),
        "body_timeout": env.number("KV_BODY_TIMEOUT", d.body_timeout, low=0.1, high=3600),
        "keepalive_timeout": env.number(
            "KV_KEEPALIVE_TIMEOUT", d.keepalive_timeout, low=0.1, high=3600
        ),
        "max_connections": env.whole(
            "KV_MAX_CONNECTIONS", d.max_connections, low=1, high=1_000_000
        ),
        "max_header_bytes": env.whole(
            "KV_MAX_HEADER_BYTES", d.max_header_bytes, low=1024, high=1024 * 1024
        ),
        "max_response_bytes": env.whole(
            "KV_MAX_RESPONSE_BYTES", d.max_response_bytes, low=1024, high=2**31
        ),
        "register_max_per_window": env.whole(
            "KV_REGISTER_MAX", d.register_max_per_window, low=1, high=1_000_000_000
        ),
        "register_window": env.whole("KV_REGISTER_WINDOW", d.register_window, low=1, high=86400),
        "max_hash_queue": env.whole("KV_MAX_HASH_QUEUE", d.max_hash_queue, low=1, high=1_000_000),
        "cors_origins": env.origins("KV_CORS_ORIGINS", d.cors_origins),
        # tenants (docs/decisions/017)
        "user_max_keys": env.limit("KV_USER_MAX_KEYS", d.user_max_keys, low=0, high=MAX_KEYS_LIMIT),
        "user_max_bytes": env.limit(
            "KV_USER_MAX_BYTES", d.user_max_bytes, low=0, high=MAX_BYTES_LIMIT
        ),
        "user_max_inflight": env.whole(
            "KV_USER_MAX_INFLIGHT", d.user_max_inflight, low=1, high=1_000_000
        ),
        "registration": env.choice("KV_REGISTRATION", d.registration, options={"open", "closed"}),
    }


def load_settings(source: Mapping[str, str] | None = None) -> Settings:
    env = _Environment(os.environ if source is None else source)
    values = _read(env, Settings())
    try:
        env.seal()
    except EnvValidationError as exc:
        problems = exc.error_messages
        assert isinstance(problems, Mapping), "seal() reports a mapping of variable -> messages"
        raise SettingsError(
            "; ".join(
                f"{name}={_shown(name, env.raw(name))}: {', '.join(messages)}"
                for name, messages in problems.items()
            )
        ) from None
    if values["min_ttl"] > values["max_ttl"]:
        raise SettingsError(
            f"KV_TTL_MIN={values['min_ttl']} is above KV_TTL_MAX={values['max_ttl']}: "
            "no ttl could be accepted"
        )
    needed = JSON_PER_STORED_BYTE * (values["max_value_bytes"] + MAX_KEY_BYTES + CHANGE_OVERHEAD)
    if values["watch_max_bytes"] < needed:
        raise SettingsError(
            f"KV_WATCH_MAX_BYTES={values['watch_max_bytes']} cannot hold one change of the "
            f"largest value (KV_MAX_VALUE_BYTES={values['max_value_bytes']}): at least {needed}"
        )
    uri = env.raw("KV_TARANTOOL_URI")
    values["tarantool_user"] = values["tarantool_user"] or _uri_part(uri, "username")
    values["tarantool_password"] = values["tarantool_password"] or _uri_part(uri, "password")
    return Settings(**values)
