"""Migration 007 on a data folder written by the previous release.

The folder is made here: a Tarantool with only migrations 001-006 applied, as the release
before 007 ran them (tests/fixtures/migrations_1_0 holds them verbatim, with the stored
functions 004-006 defined), pairs written through that release's
`kv_write(uid, ver, jti, insert_only, tuples)` with the 3-field tuples its adapter sent, then
stopped. A new Tarantool on the same folder gets every migration from the current code and the
current Lua functions, and the current repository must see the old pairs as version 1 without
expiry, with an empty change log.

Runs on Tarantool 2.6; nothing in it depends on the version (the migration uses no option
that 2.6 lacks: expiring pairs are listed in a `kv_expiry` space, not a nullable index).
"""

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest

from kv_api.application.ports import DeleteOutcome, Session, WriteOptions
from kv_api.domain.keys import WriteMode
from kv_api.infrastructure.tarantool.functions import define_functions
from kv_api.infrastructure.tarantool.kv import TarantoolKeyValueRepository
from kv_api.infrastructure.tarantool.migrations import MigrationRunner, discover
from tests.integration.conftest import MIGRATIONS, MakeClient, tarantool_kv
from tests.integration.test_migrations import _cli_env, _migrate_twice_at_once
from tests.support.tarantool import TarantoolProcess
from tests.support.writes import PairWrites

NEW = [m.name for m in discover(MIGRATIONS) if m.name >= "007"]
LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "migrations_1_0"
OLD_PAIRS: dict[str, Any] = {
    "plain": "text",
    "number": 42,
    "nested": {"a": [1, 2, {"b": None}], "ok": True},
    "empty": "",
}
_pack = msgspec.msgpack.encode


def _old_tuple(uid: int, key: str, value: Any) -> bytes:
    """What the previous adapter sent: [owner, key, value] under a 3-field array header."""
    return b"\x93" + _pack(uid) + _pack(key) + _pack(value)


@pytest.fixture
def old_migrations(tmp_path: Path) -> Path:
    directory = tmp_path / "old-migrations"
    directory.mkdir()
    for migration in discover(LEGACY):
        if migration.name < "007":
            (directory / migration.name).write_text(migration.source)
    return directory


async def _write_old_release(work_dir: Path, migrations: Path, connect: MakeClient) -> Session:
    """A data folder as the previous release left it; the session of the user owning the pairs."""
    server = TarantoolProcess(work_dir).start()
    try:
        client = await connect(server)
        assert len(await MigrationRunner(client, migrations).apply()) == 6
        now = time.time()
        user = await client.call(
            "kv_user_create", ["old_user", "old_user", "not-a-hash", None, None, None, now]
        )
        uid, jti = int(user[0]), uuid.uuid4().hex
        tuples = [_old_tuple(uid, k, v) for k, v in OLD_PAIRS.items()]
        assert list(await client.call("kv_write", [uid, 0, jti, False, tuples])) == [4, []]
        again = [_old_tuple(uid, "plain", "not written"), _old_tuple(uid, "insert", 1)]
        assert list(await client.call("kv_write", [uid, 0, jti, True, again])) == [1, [1]]
        await client.close()
    finally:
        server.stop()
    return Session(uid, token_version=0, token_id=jti, expires_at=int(time.time()) + 600)


@pytest.fixture
async def old_folder(tmp_path: Path, old_migrations: Path, connect: MakeClient) -> Session:
    return await _write_old_release(tmp_path / "tt", old_migrations, connect)


@pytest.fixture
def restarted(tmp_path: Path, old_folder: Session) -> Any:
    server = TarantoolProcess(tmp_path / "tt").start()
    yield server
    server.stop()


EXPECTED = {**OLD_PAIRS, "insert": 1}
_UPSERT = WriteOptions(WriteMode.UPSERT)


async def test_old_pairs_read_as_version_1_without_expiry_and_count_on(
    restarted: TarantoolProcess, old_folder: Session, connect: MakeClient
) -> None:
    client = await connect(restarted)
    assert await MigrationRunner(client, MIGRATIONS).apply() == NEW
    stored = (await client.eval(_SHAPE, []))[2]
    assert [name for name in stored if name.startswith("kv_")] == []  # 004-006's are dropped
    assert await define_functions(client) is True
    kv = tarantool_kv(client)
    session = old_folder

    values, meta = await kv.read_with_meta(session, list(EXPECTED))
    assert values == EXPECTED
    assert {k: (m.version, m.expires_at) for k, m in meta.items()} == dict.fromkeys(
        EXPECTED, (1, None)
    )
    empty_log = await kv.delete(session, ["never-written"], {})
    assert empty_log == DeleteOutcome(deleted=0, revision=0)

    written = await kv.write(session, {"plain": "new"}, WriteOptions(WriteMode.UPSERT, ttl=600))
    assert (written.written, written.revision) == (1, 1)
    conditional = WriteOptions(WriteMode.UPSERT, if_version={"number": 1})
    assert (await kv.write(session, {"number": 43}, conditional)).revision == 2

    values, meta = await kv.read_with_meta(session, list(EXPECTED))
    assert values == {**EXPECTED, "plain": "new", "number": 43}
    assert (meta["plain"].version, meta["number"].version, meta["nested"].version) == (2, 2, 1)
    expires = meta["plain"].expires_at
    assert expires is not None and 590 <= expires - time.time() <= 602
    assert meta["number"].expires_at is None
    changes = await client.eval(
        "return {box.space.kv_changes:count(), box.space.kv_revisions:get(...)[2]}",
        [session.user_id],
    )
    assert list(changes) == [2, 2]

    short = await kv.write(session, {"brief": 1}, WriteOptions(WriteMode.UPSERT, ttl=1))
    assert short.revision == 3
    assert await _gone_within(kv, session, "brief", seconds=5)


async def _gone_within(kv: PairWrites, session: Session, key: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if key not in await kv.read(session, [key]):
            return True
        await asyncio.sleep(0.1)
    return False


_SHAPE = """
local function rows(space) return space:select() end
local funcs = {}
for _, f in box.space._func:pairs() do funcs[#funcs + 1] = f[3] end
table.sort(funcs)
return {rows(box.space._space), rows(box.space._index), funcs, rows(box.space.kv_data),
        rows(box.space.kv_revisions), rows(box.space.kv_changes)}
"""


async def test_migration_007_run_twice_changes_nothing(
    restarted: TarantoolProcess, old_folder: Session, connect: MakeClient
) -> None:
    client = await connect(restarted)
    await MigrationRunner(client, MIGRATIONS).apply()
    await define_functions(client)
    before = await client.eval(_SHAPE, [])

    for name in NEW:  # as if a process died after running it, before recording it
        await client.eval((MIGRATIONS / name).read_text(), [])

    assert await client.eval(_SHAPE, []) == before
    kv = tarantool_kv(client)
    written = await kv.write(old_folder, {"plain": "after"}, _UPSERT)
    assert written.revision == 1
    _, meta = await kv.read_with_meta(old_folder, ["plain"])
    assert meta["plain"].version == 2


@pytest.mark.slow
async def test_two_processes_migrating_an_old_folder_at_once_both_succeed(
    restarted: TarantoolProcess, old_folder: Session, connect: MakeClient, tmp_path: Path
) -> None:
    env = _cli_env(restarted, MIGRATIONS, tmp_path / "data")

    results, names = await _migrate_twice_at_once(env)

    assert names == NEW, results
    kv = TarantoolKeyValueRepository(await connect(restarted))
    values, meta = await kv.read_with_meta(old_folder, list(EXPECTED))
    assert values == EXPECTED
    assert {m.version for m in meta.values()} == {1}
