"""Migrations hold schema and data only: the functions Tarantool runs are Lua modules
(src/infrastructure/tarantool/lua), defined by the API at each start."""

import re
from pathlib import Path

from kv_api.infrastructure.settings import Settings
from kv_api.infrastructure.tarantool.migrations import discover

MIGRATIONS = discover(Settings().migrations_dir)
LEGACY = discover(Path(__file__).resolve().parents[1] / "fixtures" / "migrations_1_0")


def test_no_migration_defines_a_function() -> None:
    # every name release 1.0 recorded is still here (stores list them), and 009 after them
    names = [m.name for m in MIGRATIONS]
    assert names[: len(LEGACY) + 1] == [*(m.name for m in LEGACY), "009_drop_stored_functions.lua"]
    assert len(MIGRATIONS) == 12
    defining = [m.name for m in MIGRATIONS if "box.schema.func.create" in m.source]
    assert defining == []


def test_009_drops_every_function_release_1_0_stored() -> None:
    """A persistent function left in _func would be called instead of the module's."""
    stored = set()
    for migration in LEGACY:
        stored |= set(re.findall(r"define\('(kv_[a-z_]+)'", migration.source))
        stored |= set(re.findall(r"func\.create\('(kv_[a-z_]+)'", migration.source))
    drop = next(m for m in MIGRATIONS if m.name == "009_drop_stored_functions.lua")

    assert len(stored) == 21
    assert stored == set(re.findall(r"'(kv_[a-z_]+)'", drop.source))
