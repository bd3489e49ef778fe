"""A data folder written by release 1.0 is served by this version with nothing lost.

The folder is made here exactly as 1.0 made it: its migrations (tests/fixtures/migrations_1_0,
which also define its stored functions) on a Tarantool in the folder's `tarantool/`, a user
created through 1.0's `kv_user_create` with a real argon2 hash, pairs written through 1.0's
`kv_write` and `kv_delete`, a token revoked through its `kv_logout`, then a checkpoint and a
stop. The current app then serves that folder with its embedded Tarantool.
"""

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import msgspec
import pytest

from kv_api.domain.users import Profile, User, UserId
from kv_api.infrastructure.security.hasher import Argon2PasswordHasher
from kv_api.infrastructure.security.tokens import JwtTokenIssuer
from kv_api.infrastructure.settings_loader import load_settings
from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.infrastructure.tarantool.migrations import MigrationRunner, discover
from kv_api.presentation.app import CONTAINER, create_app
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import Client, bearer
from tests.e2e.kv_helpers import post
from tests.support.tarantool import PASSWORD as TARANTOOL_PASSWORD
from tests.support.tarantool import TarantoolProcess

# Slow: starts a Tarantool for the old release, then the app with its own.
pytestmark = pytest.mark.slow

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "migrations_1_0"
NAME, PASSWORD = "Old_User", "correct-horse-of-1.0"
FAR = 300 * 24 * 3600  # a ttl well beyond the test
KEEP = 100_000
_pack = msgspec.msgpack.encode


class OldRelease:
    """What the test remembers of the folder 1.0 wrote."""

    def __init__(self) -> None:
        self.user_id = 0
        self.revision = 0
        self.far_expiry = 0
        self.kept_token = ""
        self.revoked_token = ""


def _tuple(uid: int, key: str, value: Any) -> bytes:
    """As 1.0's adapter sent a pair: [owner, key, value] under a 5-element array header."""
    return b"\x95" + _pack(uid) + _pack(key) + _pack(value)


async def _write(client: TarantoolClient, uid: int, pairs: dict[str, Any], ttl: Any) -> int:
    tuples = [_tuple(uid, k, v) for k, v in pairs.items()]
    args = [uid, 0, "writer", False, list(pairs), tuples, ttl, None, None, KEEP]
    written, skipped, revision = await client.call("kv_write", args)
    assert (written, list(skipped)) == (len(pairs), [])
    return int(revision)


async def _create_user(client: TarantoolClient) -> int:
    hasher = Argon2PasswordHasher(memory_kib=64, time_cost=1, parallelism=1, workers=1)
    try:
        password_hash = await hasher.hash(PASSWORD)
    finally:
        hasher.close()
    args = [NAME, NAME.casefold(), password_hash, "old@example.com", "Old", None, time.time()]
    return int((await client.call("kv_user_create", args))[0])


def _tokens(uid: int) -> tuple[str, str]:
    now = datetime.now(UTC)
    user = User(UserId(uid), NAME, "unused", Profile(), now, now, token_version=0)
    issuer = JwtTokenIssuer(TEST_SECRET, "kv-api", 1800)
    return issuer.issue(user).token, issuer.issue(user).token


async def _fill(client: TarantoolClient, old: OldRelease) -> None:
    uid = old.user_id = await _create_user(client)
    await _write(client, uid, {"plain": "first", "nested": {"a": [1, None]}, "doomed": 1}, None)
    assert await _write(client, uid, {"plain": "second"}, None) == 2
    before = time.time()
    assert await _write(client, uid, {"far": "later"}, FAR) == 3
    old.far_expiry = int(before) + FAR
    deleted, old.revision = await client.call("kv_delete", [uid, 0, "w", ["doomed"], None, KEEP])
    assert (deleted, old.revision) == (1, 4)
    old.kept_token, old.revoked_token = _tokens(uid)
    claims = jwt.decode(old.revoked_token, options={"verify_signature": False})
    assert await client.call("kv_logout", [uid, 0, claims["jti"], claims["exp"]]) is True


def _start_in(data_dir: Path) -> TarantoolProcess:
    """The embedded layout: the store in tarantool/, its password in tarantool_password."""
    data_dir.mkdir(parents=True)
    (data_dir / "tarantool_password").write_text(TARANTOOL_PASSWORD, encoding="ascii")
    return TarantoolProcess(data_dir / "tarantool").start()


async def _write_release_1_0(data_dir: Path) -> OldRelease:
    server = _start_in(data_dir)
    client = TarantoolClient(server.address, server.user, server.password, 5.0, 30.0)
    old = OldRelease()
    try:
        assert await client.wait_connected(10.0)
        applied = await MigrationRunner(client, LEGACY).apply()
        assert applied == [m.name for m in discover(LEGACY)]
        await _fill(client, old)
        await client.eval("box.snapshot()", [])
    finally:
        await client.close()
        server.stop()
    return old


@pytest.fixture
async def upgraded(aiohttp_client: Any, tmp_path: Path) -> tuple[Client, OldRelease]:
    data_dir = tmp_path / "var"
    old = await _write_release_1_0(data_dir)
    env = {
        "KV_DATA_DIR": str(data_dir),
        "KV_JWT_SECRET": TEST_SECRET,
        "KV_ARGON2_MEMORY_KIB": "64",
        "KV_ARGON2_TIME_COST": "1",
        "KV_TARANTOOL_MEMORY_MB": "64",
        "KV_LOG_FORMAT": "text",
    }
    api: Client = await aiohttp_client(create_app(load_settings(env)))
    return api, old


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_login_and_tokens_of_1_0_hold(upgraded: tuple[Client, OldRelease]) -> None:
    api, old = upgraded
    login = await api.post("/api/login", json={"username": NAME, "password": PASSWORD})
    assert login.status == 200, await login.text()
    me = await api.get("/api/users/me", headers=bearer(old.kept_token))
    assert me.status == 200, await me.text()
    assert (await me.json())["username"] == NAME
    assert (await api.get("/api/users/me", headers=bearer(old.revoked_token))).status == 401


async def test_pairs_versions_expiry_and_changes_of_1_0_hold(
    upgraded: tuple[Client, OldRelease],
) -> None:
    api, old = upgraded
    auth = bearer(old.kept_token)
    body = {"keys": ["plain", "nested", "far", "doomed"], "include": ["version", "expires_at"]}
    status, answer = await post(api, "/api/read", auth, body)
    assert status == 200, answer
    assert answer == {
        "data": {"plain": "second", "nested": {"a": [1, None]}, "far": "later"},
        "not_found": ["doomed"],
        "meta": {
            "plain": {"version": 2, "expires_at": None},
            "nested": {"version": 1, "expires_at": None},
            "far": {"version": 1, "expires_at": answer["meta"]["far"]["expires_at"]},
        },
    }
    far = answer["meta"]["far"]["expires_at"]
    assert far in {_iso(old.far_expiry), _iso(old.far_expiry + 1)}

    feed = await api.get("/api/watch", params={"since": "0", "timeout": "0"}, headers=auth)
    assert feed.status == 200, await feed.text()
    assert await feed.json() == {
        "changes": [
            {"key": "plain", "op": "put", "version": 1, "revision": 1},
            {"key": "nested", "op": "put", "version": 1, "revision": 1},
            {"key": "doomed", "op": "put", "version": 1, "revision": 1},
            {"key": "plain", "op": "put", "version": 2, "revision": 2},
            {"key": "far", "op": "put", "version": 1, "revision": 3},
            {"key": "doomed", "op": "delete", "version": 1, "revision": 4},
        ],
        "revision": old.revision,
    }
    status, written = await post(api, "/api/write", auth, {"data": {"new": True}})
    assert (status, written["revision"]) == (200, old.revision + 1), written


async def test_no_stored_function_of_1_0_is_left(upgraded: tuple[Client, OldRelease]) -> None:
    api, _ = upgraded
    storage = api.server.app[CONTAINER].storage()
    stored = await storage.primary.eval(
        "local n = {} for _, f in box.space._func:pairs() do "
        "if f[3]:sub(1, 3) == 'kv_' then n[#n + 1] = f[3] end end return n",
        [],
    )
    assert list(stored) == []
