"""`kv-api serve` beyond loopback with a published placeholder secret stops with one line."""

import os
import subprocess
from pathlib import Path

from tests.support.server import CHEAP_ENV, kv_api_binary


def test_serve_on_all_interfaces_with_the_old_compose_secret_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KV_")}
    env |= {
        **CHEAP_ENV,
        "KV_DATA_DIR": str(tmp_path),
        "KV_HOST": "0.0.0.0",
        "KV_PORT": "0",
        "KV_JWT_SECRET": "change-me-this-secret-must-be-at-least-32-bytes",
    }
    done = subprocess.run(
        [kv_api_binary(), "serve"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith("kv-api: KV_JWT_SECRET is a published placeholder")
    assert not (tmp_path / "tarantool").exists()  # refused before anything started
