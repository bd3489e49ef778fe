"""Migration 012 on a store whose expiry schedule is ordered by time only: the schedule is found
by pair afterwards (primary index (owner, key)) and ordered by a 'due' index; rows that do not
match their pair's expiry are dropped first, so that no pair has two; the pairs, their
expiries and the purge work as before."""

import shutil
import time
from pathlib import Path

import pytest

from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.infrastructure.tarantool.functions import define_functions
from kv_api.infrastructure.tarantool.migrations import MigrationRunner, discover
from tests.integration.conftest import MIGRATIONS, MakeClient
from tests.support.tarantool import TarantoolProcess

EXPIRY = MIGRATIONS / "012_expiry_by_pair.lua"
SOON, LATER = int(time.time()) - 5, int(time.time()) + 3600
# Pairs with and without an expiry, their rows, and rows of no pair (a pair gone, an expiry
# that is not the pair's) as an interrupted purge could have left.
OLD_STORE = f"""
local NULL = box.NULL
box.space.kv_users:insert{{1, 'user1', 'user1', 'h', NULL, NULL, NULL, 0, 0, 0}}
box.space.kv_data:insert{{1, 'past', 'v', 1, {SOON}}}
box.space.kv_data:insert{{1, 'later', 'v', 2, {LATER}}}
box.space.kv_data:insert{{1, 'forever', 'v', 1, NULL}}
box.space.kv_expiry:insert{{{SOON}, 1, 'past'}}
box.space.kv_expiry:insert{{{LATER}, 1, 'later'}}
box.space.kv_expiry:insert{{{SOON}, 1, 'later'}}
box.space.kv_expiry:insert{{{SOON}, 1, 'forever'}}
box.space.kv_expiry:insert{{{SOON}, 1, 'gone'}}
"""
SCHEDULE = """
local e = box.space.kv_expiry
local parts = {}
for _, index in ipairs({'primary', 'due'}) do
    local names = {}
    for _, part in ipairs(e.index[index].parts) do names[#names + 1] = part.fieldno end
    parts[index] = names
end
return {parts, e.index.due:select()}
"""


@pytest.fixture
def before_012(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    for migration in discover(MIGRATIONS):
        if migration.name < "012":
            shutil.copy(MIGRATIONS / migration.name, directory)
    return directory


async def test_the_schedule_is_found_by_pair_with_one_row_each(
    fresh_tarantool: TarantoolProcess, connect: MakeClient, before_012: Path
) -> None:
    client: TarantoolClient = await connect(fresh_tarantool)
    assert len(await MigrationRunner(client, before_012).apply()) == 11
    await client.eval(OLD_STORE, [])

    assert await MigrationRunner(client, MIGRATIONS).apply() == ["012_expiry_by_pair.lua"]

    parts, rows = await client.eval(SCHEDULE, [])
    assert parts == {"primary": [2, 3], "due": [1, 2, 3]}
    assert [list(r) for r in rows] == [[SOON, 1, "past"], [LATER, 1, "later"]]
    await client.eval(EXPIRY.read_text(), [])  # a second run changes nothing
    assert [list(r) for r in (await client.eval(SCHEDULE, []))[1]] == [
        [SOON, 1, "past"],
        [LATER, 1, "later"],
    ]

    await define_functions(client)
    assert list(await client.call("kv_purge_expired", [100, 1000])) == [1, 1]
    kept = await client.eval("return box.space.kv_data:select({1})", [])
    assert sorted(t[1] for t in kept) == ["forever", "later"]
