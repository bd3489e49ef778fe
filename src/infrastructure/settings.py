import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class StartupError(Exception):
    """The service cannot start; the message is one line that says why and what to do."""


class SettingsError(StartupError):
    """One bad variable; the message is a single line that names it."""


@dataclass(frozen=True)
class TarantoolAddress:
    host: str
    port: int

    @classmethod
    def parse(cls, uri: str, variable: str) -> "TarantoolAddress":
        text = uri if "://" in uri else "tcp://" + uri
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise SettingsError(f"{variable}={uri!r}: not a host:port address ({exc})") from exc
        if not parts.hostname or port is None:
            raise SettingsError(f"{variable}={uri!r}: expected host:port, e.g. 127.0.0.1:3301")
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
    max_items: int = 10_000
    max_value_bytes: int = 1024 * 1024
    max_body_bytes: int = 16 * 1024 * 1024
    max_depth: int = 64
    connect_timeout: float = 3.0
    request_timeout: float = 5.0
    shutdown_timeout: float = 15.0
    wal_mode: str = "write"
    tarantool_memory_mb: int = 1024
    tarantool_binary: str = "tarantool"
    migrations_dir: Path = field(default_factory=lambda: _default_migrations_dir())
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

    @property
    def embedded(self) -> bool:
        return self.tarantool is None


def _default_migrations_dir() -> Path:
    """The migrations installed with the package (kv_api.migrations), in a checkout or a wheel."""
    return Path(str(resources.files("kv_api.migrations")))


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def raw(self, name: str) -> str | None:
        value = self._env.get(name)
        return value if value is None else value.strip()

    def get(
        self, name: str, default: T, parse: Callable[[str], T], hint: str, secret: bool = False
    ) -> T:
        value = self.raw(name)
        if value is None or value == "":
            return default
        try:
            return parse(value)
        except (ValueError, SettingsError) as exc:
            detail = f" ({exc})" if isinstance(exc, SettingsError) else ""
            shown = "<hidden>" if secret else repr(value)
            raise SettingsError(f"{name}={shown}: {hint}{detail}") from None

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        def parse(text: str) -> int:
            number = int(text)
            if not low <= number <= high:
                raise ValueError
            return number

        return self.get(name, default, parse, f"expected a whole number from {low} to {high}")

    def number(self, name: str, default: float, low: float, high: float) -> float:
        def parse(text: str) -> float:
            number = float(text)
            if not low <= number <= high:
                raise ValueError
            return number

        return self.get(name, default, parse, f"expected a number from {low} to {high}")

    def boolean(self, name: str, default: bool) -> bool:
        def parse(text: str) -> bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError

        return self.get(name, default, parse, "expected true or false")

    def choice(self, name: str, default: str, options: set[str], upper: bool = False) -> str:
        def parse(text: str) -> str:
            value = text.upper() if upper else text.lower()
            if value not in options:
                raise ValueError
            return value

        return self.get(name, default, parse, "expected one of " + ", ".join(sorted(options)))
