import dataclasses
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kv_api.infrastructure.settings import Settings
from tests.support.tarantool import TarantoolProcess

TEST_SECRET = "test-secret-that-is-at-least-32-bytes-long!"


@pytest.fixture(scope="session")
def tarantool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TarantoolProcess]:
    """One real Tarantool for the whole session; tests isolate themselves by user."""
    process = TarantoolProcess(tmp_path_factory.mktemp("tarantool")).start()
    yield process
    process.stop()


def settings_for(server: TarantoolProcess, data_dir: Path, **overrides: Any) -> Settings:
    base = Settings(
        host="127.0.0.1",
        port=0,
        data_dir=data_dir,
        tarantool=server.address,
        tarantool_user=server.user,
        tarantool_password=server.password,
        jwt_secret=TEST_SECRET,
        argon2_memory_kib=64,
        argon2_time_cost=1,
        login_max_failures=1000,
        register_max_per_window=1_000_000,  # every test registers from 127.0.0.1
        connect_timeout=2.0,
        request_timeout=2.0,
        log_format="text",
    )
    return dataclasses.replace(base, **overrides)


@pytest.fixture
def make_settings(tarantool: TarantoolProcess, tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return settings_for(tarantool, tmp_path / "data", **overrides)

    return make


def unique_name(prefix: str = "u") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"
