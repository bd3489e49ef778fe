import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jwt
import pytest

from kv_api.infrastructure.security.tokens import SECRET_FILE, load_or_create_secret
from kv_api.infrastructure.settings import SettingsError, StartupError
from kv_api.infrastructure.settings_loader import load_settings
from tests.e2e.conftest import register


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generated_secret_is_private_and_stable(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    secret = load_or_create_secret(None, data_dir)
    path = data_dir / SECRET_FILE
    assert len(secret.encode()) >= 32
    assert mode_of(path) == 0o600
    assert path.read_text() == secret
    assert load_or_create_secret(None, data_dir) == secret
    assert [p.name for p in data_dir.iterdir()] == [SECRET_FILE]


def test_concurrent_starters_agree_on_one_secret(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        secrets = set(pool.map(lambda _: load_or_create_secret(None, tmp_path), range(16)))
    assert len(secrets) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [SECRET_FILE]


def test_configured_secret_wins_and_writes_nothing(tmp_path: Path) -> None:
    secret = "x" * 32
    assert load_or_create_secret(secret, tmp_path) == secret
    assert not (tmp_path / SECRET_FILE).exists()


@pytest.mark.parametrize("secret", ["", "short", "é" * 15])
def test_short_configured_secret_is_refused(tmp_path: Path, secret: str) -> None:
    with pytest.raises(StartupError, match="at least 32 bytes"):
        load_or_create_secret(secret, tmp_path)


def test_short_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_text("too-short\n")
    with pytest.raises(StartupError, match=SECRET_FILE):
        load_or_create_secret(None, tmp_path)


def test_short_secret_in_the_environment_is_refused() -> None:
    with pytest.raises(SettingsError, match="KV_JWT_SECRET"):
        load_settings({"KV_JWT_SECRET": "s" * 31})
    assert load_settings({"KV_JWT_SECRET": "s" * 32}).jwt_secret == "s" * 32
    assert load_settings({}).jwt_secret is None


async def test_app_signs_with_the_generated_secret(make_api: Any, tmp_path: Path) -> None:
    api = await make_api(jwt_secret=None)
    path = tmp_path / "data" / SECRET_FILE
    assert mode_of(path) == 0o600
    reply = await register(api)
    claims = jwt.decode(reply["token"], path.read_text(), algorithms=["HS256"], issuer="kv-api")
    assert claims["ver"] == 0
    restarted = await make_api(jwt_secret=None)
    me = await restarted.get("/api/users/me", headers={"Authorization": f"Bearer {reply['token']}"})
    assert me.status == 200
