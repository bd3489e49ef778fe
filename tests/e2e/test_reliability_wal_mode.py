"""KV_WAL_MODE reaches the managed Tarantool's box.cfg, and writes work in either mode."""

from pathlib import Path
from typing import Any

import pytest

from kv_api.infrastructure.settings_loader import load_settings
from kv_api.presentation.app import CONTAINER, create_app
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import bearer, register


@pytest.mark.parametrize("wal_mode", ["fsync", "write", None])
async def test_wal_mode_setting_is_the_managed_tarantools_wal_mode(
    aiohttp_client: Any, tmp_path: Path, wal_mode: str | None
) -> None:
    env = {
        "KV_DATA_DIR": str(tmp_path / "var"),
        "KV_JWT_SECRET": TEST_SECRET,
        "KV_ARGON2_MEMORY_KIB": "64",
        "KV_ARGON2_TIME_COST": "1",
        "KV_TARANTOOL_MEMORY_MB": "64",
    }
    if wal_mode is not None:
        env["KV_WAL_MODE"] = wal_mode.upper()
    api = await aiohttp_client(create_app(load_settings(env)))
    storage = api.server.app[CONTAINER].storage()
    assert storage.managed is not None

    assert await storage.primary.eval("return box.cfg.wal_mode", []) == (wal_mode or "write")
    auth = bearer((await register(api))["token"])
    assert (await api.post("/api/write", json={"data": {"k": 1}}, headers=auth)).status == 200
