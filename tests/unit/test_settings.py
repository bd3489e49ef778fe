import os
import subprocess
import sys
from pathlib import Path

import pytest

from kv_api.infrastructure.settings import SettingsError, TarantoolAddress, default_hash_workers
from kv_api.infrastructure.settings_loader import load_settings

KV_API = Path(sys.executable).with_name("kv-api")


class TestDefaults:
    def test_documented_defaults(self) -> None:
        settings = load_settings({})
        assert settings.host == "127.0.0.1"
        assert settings.port == 8080
        assert settings.data_dir == Path("./var")
        assert settings.tarantool is None
        assert settings.embedded
        assert settings.token_ttl == 1800
        assert settings.log_level == "INFO"
        assert settings.jwt_secret is None
        assert settings.bootstrap_user is None
        assert settings.password_composition is False
        assert settings.wal_mode == "write"

    def test_reads_the_process_environment_when_not_given_one(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("KV_PORT", "9191")
        assert load_settings().port == 9191

    def test_empty_or_blank_values_mean_default(self) -> None:
        settings = load_settings({"KV_PORT": "", "KV_HOST": "  ", "KV_TARANTOOL_URI": ""})
        assert (settings.port, settings.host, settings.embedded) == (8080, "127.0.0.1", True)


class TestValues:
    def test_reads_every_documented_variable(self) -> None:
        settings = load_settings(
            {
                "KV_HOST": "0.0.0.0",
                "KV_PORT": " 9000 ",
                "KV_DATA_DIR": "/srv/kv",
                "KV_TARANTOOL_URI": "db.internal:3302",
                "KV_TOKEN_TTL": "600",
                "KV_LOG_LEVEL": "debug",
                "KV_BOOTSTRAP_USER": "admin:pre:sale",
                "KV_JWT_SECRET": "s" * 32,
                "KV_WAL_MODE": "FSYNC",
                "KV_PASSWORD_COMPOSITION": "yes",
            }
        )
        assert (settings.host, settings.port) == ("0.0.0.0", 9000)
        assert settings.data_dir == Path("/srv/kv")
        assert settings.tarantool == TarantoolAddress("db.internal", 3302)
        assert not settings.embedded
        assert settings.token_ttl == 600
        assert settings.log_level == "DEBUG"
        assert settings.bootstrap_user == ("admin", "pre:sale")
        assert settings.jwt_secret == "s" * 32
        assert settings.wal_mode == "fsync"
        assert settings.password_composition is True

    @pytest.mark.parametrize("uri", ["tcp://10.0.0.1:3301", "10.0.0.1:3301", "[::1]:3301"])
    def test_tarantool_uri_forms(self, uri: str) -> None:
        address = load_settings({"KV_TARANTOOL_URI": uri}).tarantool
        assert address is not None
        assert address.port == 3301

    @pytest.mark.parametrize(("text", "value"), [("1", True), ("ON", True), ("off", False)])
    def test_booleans(self, text: str, value: bool) -> None:
        assert load_settings({"KV_ACCESS_LOG": text}).access_log is value

    def test_no_cross_origin_caller_by_default(self) -> None:
        assert load_settings({}).cors_origins == ()

    def test_cors_origins_are_kept_as_browsers_send_them(self) -> None:
        value = "https://App.Example.com, http://localhost:3000 ,https://a.example:443/,http://[::1]:80,"
        assert load_settings({"KV_CORS_ORIGINS": value}).cors_origins == (
            "https://app.example.com",
            "http://localhost:3000",
            "https://a.example",
            "http://[::1]",
        )

    def test_a_cors_origin_listed_twice_counts_once(self) -> None:
        value = "https://a.example, https://A.example:443"
        assert load_settings({"KV_CORS_ORIGINS": value}).cors_origins == ("https://a.example",)

    def test_a_bad_cors_origin_is_named_by_its_place(self) -> None:
        with pytest.raises(SettingsError) as exc:
            load_settings({"KV_CORS_ORIGINS": "https://a.example,https://b.example/app"})
        assert str(exc.value) == (
            "KV_CORS_ORIGINS='https://a.example,https://b.example/app': expected "
            "scheme://host[:port][,...] (origin 2: a path is no part of an origin)"
        )

    def test_tenant_settings(self) -> None:
        defaults = load_settings({})
        assert (defaults.user_max_keys, defaults.user_max_bytes) == (250_000, 64 * 1024 * 1024)
        assert (defaults.user_max_inflight, defaults.registration) == (32, "open")
        settings = load_settings(
            {
                "KV_USER_MAX_KEYS": "None",
                "KV_USER_MAX_BYTES": "0",
                "KV_USER_MAX_INFLIGHT": "8",
                "KV_REGISTRATION": "Closed",
            }
        )
        assert (settings.user_max_keys, settings.user_max_bytes) == (None, 0)
        assert (settings.user_max_inflight, settings.registration) == (8, "closed")

    def test_replica_list(self) -> None:
        settings = load_settings({"KV_TARANTOOL_REPLICA_URIS": "a:1, b:2,"})
        assert settings.replicas == (TarantoolAddress("a", 1), TarantoolAddress("b", 2))


BAD_VALUES = [
    ("KV_PORT", "http"),
    ("KV_PORT", "-1"),
    ("KV_PORT", "65536"),
    ("KV_PORT", "80.5"),
    ("KV_PORT", "80\n81"),
    ("KV_TOKEN_TTL", "0"),
    ("KV_TOKEN_TTL", "30m"),
    ("KV_ACCESS_LOG", "maybe"),
    ("KV_PASSWORD_COMPOSITION", "2"),
    ("KV_READ_FROM_REPLICAS", "yes please"),
    ("KV_TARANTOOL_URI", "localhost"),
    ("KV_TARANTOOL_URI", "tcp://10.0.0.1"),
    ("KV_TARANTOOL_URI", "10.0.0.1:port"),
    ("KV_TARANTOOL_URI", "10.0.0.1:99999"),
    ("KV_TARANTOOL_URI", "[::1"),
    ("KV_TARANTOOL_REPLICA_URIS", "a:1,b"),
    ("KV_BOOTSTRAP_USER", "admin"),
    ("KV_BOOTSTRAP_USER", "admin:"),
    ("KV_BOOTSTRAP_USER", ":presale"),
    ("KV_JWT_SECRET", "s" * 31),
    ("KV_JWT_SECRET", "é" * 15),
    ("KV_WAL_MODE", "none"),
    ("KV_LOG_LEVEL", "verbose"),
    ("KV_LOG_FORMAT", "xml"),
    ("KV_MAX_ITEMS", "0"),
    ("KV_TARANTOOL_REQUEST_TIMEOUT", "soon"),
    ("KV_CORS_ORIGINS", "*"),
    ("KV_CORS_ORIGINS", "null"),
    ("KV_CORS_ORIGINS", "app.example.com"),
    ("KV_CORS_ORIGINS", "https://app.example.com/path"),
    ("KV_CORS_ORIGINS", "https://app.example.com?x=1"),
    ("KV_CORS_ORIGINS", "https://user@app.example.com"),
    ("KV_CORS_ORIGINS", "https://app.example.com:99999"),
    ("KV_CORS_ORIGINS", "https://"),
    ("KV_CORS_ORIGINS", "https://ok.example.com,ftp//broken"),
    ("KV_USER_MAX_KEYS", "-1"),
    ("KV_USER_MAX_KEYS", "lots"),
    ("KV_USER_MAX_BYTES", "64MiB"),
    ("KV_USER_MAX_BYTES", str(2**50 + 1)),
    ("KV_USER_MAX_INFLIGHT", "0"),
    ("KV_REGISTRATION", "invite-only"),
]


def test_a_ttl_minimum_above_the_maximum_is_refused() -> None:
    with pytest.raises(SettingsError) as exc:
        load_settings({"KV_TTL_MIN": "100", "KV_TTL_MAX": "10"})
    assert str(exc.value).startswith("KV_TTL_MIN=100 is above KV_TTL_MAX=10")


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_bad_value_raises_one_line_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as exc:
        load_settings({name: value})
    message = str(exc.value)
    assert message.startswith(f"{name}=")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "value", "hidden"),
    [
        ("KV_JWT_SECRET", "almost-long-enough-secret-31byt", "almost-long-enough"),
        ("KV_BOOTSTRAP_USER", ":hunter2-password", "hunter2"),
    ],
)
def test_bad_secret_values_are_not_echoed(name: str, value: str, hidden: str) -> None:
    with pytest.raises(SettingsError) as exc:
        load_settings({name: value})
    assert str(exc.value).startswith(f"{name}=<hidden>: ")
    assert hidden not in str(exc.value)


def test_every_bad_variable_is_reported_at_once_in_one_line() -> None:
    env = {"KV_PORT": "http", "KV_HOST": "0.0.0.0", "KV_TOKEN_TTL": "0", "KV_ACCESS_LOG": "maybe"}
    with pytest.raises(SettingsError) as exc:
        load_settings(env)
    assert str(exc.value).split("; ") == [
        "KV_PORT='http': expected a whole number from 0 to 65535",
        "KV_TOKEN_TTL='0': expected a whole number from 10 to 2592000",
        "KV_ACCESS_LOG='maybe': expected true or false",
    ]


def test_secrets_stay_hidden_among_several_bad_variables() -> None:
    env = {
        "KV_JWT_SECRET": "hunter2-but-too-short",
        "KV_BOOTSTRAP_USER": ":hunter2",
        "KV_MAX_DEPTH": "deep",
    }
    with pytest.raises(SettingsError) as exc:
        load_settings(env)
    message = str(exc.value)
    assert "KV_JWT_SECRET=<hidden>: " in message
    assert "KV_BOOTSTRAP_USER=<hidden>: " in message
    assert "KV_MAX_DEPTH='deep': " in message
    assert "hunter2" not in message and "\n" not in message


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("KV_TARANTOOL_URI", "bob:hunter2@db:port", "'<hidden>@db:port'"),
        ("KV_TARANTOOL_URI", "tcp://bob:hunter2@db", "'<hidden>@db'"),
        ("KV_TARANTOOL_REPLICA_URIS", "a:1,bob:hunter2@b", "'a:1,<hidden>@b'"),
    ],
)
def test_a_bad_uri_is_shown_without_its_credentials(name: str, value: str, shown: str) -> None:
    with pytest.raises(SettingsError) as exc:
        load_settings({name: value})
    assert str(exc.value).startswith(f"{name}={shown}: ")
    assert "hunter2" not in str(exc.value)


def test_jwt_secret_length_counts_bytes() -> None:
    assert load_settings({"KV_JWT_SECRET": "é" * 16}).jwt_secret == "é" * 16


# The one subprocess in the unit tier: the real console script, failing before it binds or
# starts Tarantool (KV_TARANTOOL_URI points at an external address, so nothing is spawned).
def test_serve_with_a_bad_setting_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KV_PORT": "eighty",
        "KV_DATA_DIR": str(tmp_path),
        "KV_TARANTOOL_URI": "127.0.0.1:9",
    }
    done = subprocess.run(
        [str(KV_API), "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines == ["kv-api: KV_PORT='eighty': expected a whole number from 0 to 65535"]
    assert list(tmp_path.iterdir()) == []


def test_serve_reports_every_bad_setting_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "KV_PORT": "eighty", "KV_WAL_MODE": "none", "KV_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [str(KV_API), "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "kv-api: KV_PORT='eighty': expected a whole number from 0 to 65535; "
        "KV_WAL_MODE='none': expected one of fsync, write"
    ]
    assert list(tmp_path.iterdir()) == []


def test_credentials_may_come_from_the_tarantool_uri() -> None:
    settings = load_settings({"KV_TARANTOOL_URI": "bob:s%40cret@db.internal:3301"})
    assert (settings.tarantool_user, settings.tarantool_password) == ("bob", "s@cret")
    assert settings.tarantool is not None and settings.tarantool.host == "db.internal"


def test_separate_credential_variables_win_over_the_uri() -> None:
    env = {"KV_TARANTOOL_URI": "bob:pw@db:3301", "KV_TARANTOOL_USER": "alice"}
    assert load_settings(env).tarantool_user == "alice"


@pytest.mark.parametrize(
    ("cpus", "processes", "threads"), [(1, 1, 1), (2, 1, 1), (8, 1, 4), (8, 2, 2), (8, 8, 1)]
)
def test_hashing_threads_default_to_half_the_cpus_shared_by_the_processes(
    cpus: int, processes: int, threads: int
) -> None:
    assert default_hash_workers(cpus, processes) == threads


def test_hashing_threads_default_and_override() -> None:
    assert load_settings({}).hash_workers == default_hash_workers()
    assert load_settings({"KV_HASH_WORKERS": "3"}).hash_workers == 3


class TestEdgeLimits:
    def test_defaults(self) -> None:
        settings = load_settings({})
        assert (settings.header_timeout, settings.body_timeout) == (10.0, 60.0)
        assert (settings.keepalive_timeout, settings.max_connections) == (30.0, 1000)
        assert (settings.max_header_bytes, settings.max_response_bytes) == (16384, 32 * 2**20)
        assert (settings.register_max_per_window, settings.register_window) == (20, 60)
        assert settings.max_hash_queue == 64

    def test_values(self) -> None:
        settings = load_settings(
            {
                "KV_HEADER_TIMEOUT": "2.5",
                "KV_BODY_TIMEOUT": "7",
                "KV_KEEPALIVE_TIMEOUT": "3",
                "KV_MAX_CONNECTIONS": "50",
                "KV_MAX_HEADER_BYTES": "8192",
                "KV_MAX_RESPONSE_BYTES": "1048576",
                "KV_REGISTER_MAX": "5",
                "KV_REGISTER_WINDOW": "600",
                "KV_MAX_HASH_QUEUE": "8",
            }
        )
        assert (settings.header_timeout, settings.body_timeout) == (2.5, 7.0)
        assert (settings.keepalive_timeout, settings.max_connections) == (3.0, 50)
        assert (settings.max_header_bytes, settings.max_response_bytes) == (8192, 2**20)
        assert (settings.register_max_per_window, settings.register_window) == (5, 600)
        assert settings.max_hash_queue == 8

    @pytest.mark.parametrize(
        "name", ["KV_HEADER_TIMEOUT", "KV_MAX_CONNECTIONS", "KV_MAX_HASH_QUEUE"]
    )
    def test_nonsense_is_refused(self, name: str) -> None:
        with pytest.raises(SettingsError, match=name):
            load_settings({name: "0"})
