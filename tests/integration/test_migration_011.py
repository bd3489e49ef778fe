"""Migration 011 on a store written before usage was counted: each user's usage is computed
from the pairs already stored (their count and the sum of their tuples' bsize()), once, even
with two runners starting together; a second run counts afresh and keeps own limits."""

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.infrastructure.tarantool.functions import define_functions
from kv_api.infrastructure.tarantool.migrations import MigrationRunner, discover
from kv_api.infrastructure.tarantool.quotas import TarantoolQuotaRepository
from tests.integration.conftest import MIGRATIONS, STORED_USAGE, MakeClient
from tests.support.tarantool import TarantoolProcess

USAGE = MIGRATIONS / "011_usage.lua"
# Three users and an owner whose account is gone: pairs as releases before versions stored
# them (three fields) and as later ones do (version and expiry).
OLD_STORE = """
local NULL = box.NULL
for uid = 1, 3 do
    box.space.kv_users:insert{uid, 'user' .. uid, 'user' .. uid, 'h', NULL, NULL, NULL, 0, 0, 0}
end
box.space.kv_data:insert{1, 'legacy', 'a value'}
box.space.kv_data:insert{1, 'nested', {list = {1, 2.5, NULL}, text = string.rep('x', 300)}}
box.space.kv_data:insert{2, 'versioned', 42, 3, NULL}
box.space.kv_data:insert{2, 'expiring', 'soon', 1, 4102444800}
box.space.kv_data:insert{9, 'orphan', 'of an account already gone', 1, NULL}
"""
ROWS = (
    "local rows = {} for _, t in box.space.kv_usage:pairs() do rows[#rows + 1] = t end return rows"
)


@pytest.fixture
def before_011(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    for migration in discover(MIGRATIONS):
        if migration.name < "011":
            shutil.copy(MIGRATIONS / migration.name, directory)
    return directory


async def _old_store(client: TarantoolClient, migrations: Path) -> None:
    assert len(await MigrationRunner(client, migrations).apply()) == 10
    await client.eval(OLD_STORE, [])


async def _usage_rows(client: TarantoolClient) -> dict[int, list[Any]]:
    return {int(row[0]): list(row[1:]) for row in await client.eval(ROWS, [])}


async def _counted(client: TarantoolClient, uid: int) -> list[int]:
    return [int(x) for x in await client.eval(STORED_USAGE, [uid])]


async def test_existing_pairs_get_their_usage_once_even_with_two_runners(
    fresh_tarantool: TarantoolProcess, connect: MakeClient, before_011: Path
) -> None:
    client = await connect(fresh_tarantool)
    await _old_store(client, before_011)
    first = MigrationRunner(await connect(fresh_tarantool), MIGRATIONS)
    second = MigrationRunner(await connect(fresh_tarantool), MIGRATIONS)

    applied = await asyncio.gather(first.apply(), second.apply())

    assert sorted(applied[0] + applied[1]) == [
        m.name for m in discover(MIGRATIONS) if m.name >= "011"
    ]
    rows = await _usage_rows(client)
    assert set(rows) == {1, 2}  # no row for a user with no pairs, nor for an account gone
    for uid in (1, 2):
        assert rows[uid] == [*await _counted(client, uid), None, None]
    assert rows[1][0] == 2 and rows[2][0] == 2 and rows[1][1] > 300

    await define_functions(client)
    found = await TarantoolQuotaRepository(client).of_user("user1")
    assert found is not None and (found[1].usage.keys, found[1].usage.bytes) == tuple(rows[1][:2])


async def test_a_second_run_counts_afresh_and_keeps_own_limits(
    fresh_tarantool: TarantoolProcess, connect: MakeClient, before_011: Path
) -> None:
    client = await connect(fresh_tarantool)
    await _old_store(client, before_011)
    await MigrationRunner(client, MIGRATIONS).apply()
    await client.eval("box.space.kv_usage:update(1, {{'=', 4, 7}, {'=', 2, 1000}})", [])
    await client.eval("box.space.kv_usage:insert{3, 5, 5, -1, box.NULL}", [])
    before = await _usage_rows(client)

    await client.eval(USAGE.read_text(), [])  # as a run cut short would be run again

    after = await _usage_rows(client)
    assert after[1] == [*await _counted(client, 1), 7, None]
    assert after[2] == before[2]
    assert after[3] == [0, 0, -1, None]
