import asyncio
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.infrastructure.tarantool.functions import define_functions
from kv_api.infrastructure.tarantool.migrations import MigrationFailed, MigrationRunner, discover
from tests.integration.conftest import MIGRATIONS, MakeClient
from tests.support.tarantool import TarantoolProcess

ALL = [m.name for m in discover(MIGRATIONS)]
# A migration that yields half-way and would fail on a second run: it proves exactly-once.
PROBE = """
box.schema.space.create('probe_runs', {if_not_exists = true})
box.space.probe_runs:create_index('primary', {if_not_exists = true, parts = {1, 'unsigned'}})
require('fiber').sleep(0.05)
box.space.probe_runs:insert{1, 'ran once'}
"""
SCHEMA = """
local function rows(space) return space:select() end
return {
    rows(box.space._space), rows(box.space._index), rows(box.space._func),
    rows(box.space._sequence), rows(box.space._priv),
    rows(box.space.kv_schema_version),
}
"""


@pytest.fixture
def probe_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, directory)
    (directory / "900_probe.lua").write_text(PROBE)
    return directory


async def schema(client: TarantoolClient) -> Any:
    return await client.eval(SCHEMA, [])


async def probe_runs(client: TarantoolClient) -> int:
    return int(await client.eval("return box.space.probe_runs:count()", []))


async def test_fresh_database_gets_every_migration_in_order(
    fresh_tarantool: TarantoolProcess, connect: MakeClient
) -> None:
    client = await connect(fresh_tarantool)
    runner = MigrationRunner(client, MIGRATIONS)
    assert [applied for _, applied, _ in await runner.status()] == [False] * len(ALL)

    assert await runner.apply() == ALL

    spaces = await client.eval(
        "local n = {} for _, s in box.space._space:pairs() do "
        "if s[3]:sub(1, 3) == 'kv_' then n[#n + 1] = s[3] end end return n",
        [],
    )
    assert set(spaces) >= {
        "kv_schema_version",
        "kv_users",
        "kv_revoked_tokens",
        "kv_login_failures",
        "kv_data",
    }
    assert await stored_functions(client) == []
    assert await define_functions(client) is True
    names = ["kv_write_pairs", "kv_keys"]
    assert await callable_functions(client, names) == names


async def stored_functions(client: TarantoolClient) -> list[str]:
    """The persistent functions of ours in _func: none, as a global Lua function of the same
    name would never be called."""
    code = (
        "local n = {} for _, f in box.space._func:pairs() do "
        "if f[3]:sub(1, 3) == 'kv_' then n[#n + 1] = f[3] end end return n"
    )
    return list(await client.eval(code, []))


async def callable_functions(client: TarantoolClient, names: list[str]) -> list[str]:
    code = "local found = {} for _, n in ipairs(...) do "
    code += "if type(rawget(_G, n)) == 'function' then found[#found + 1] = n end end return found"
    return list(await client.eval(code, [names]))


async def test_second_run_applies_nothing_and_changes_nothing(
    fresh_tarantool: TarantoolProcess, connect: MakeClient
) -> None:
    client = await connect(fresh_tarantool)
    runner = MigrationRunner(client, MIGRATIONS)
    await runner.apply()
    before = await schema(client)

    assert await runner.apply() == []
    assert await MigrationRunner(await connect(fresh_tarantool), MIGRATIONS).apply() == []

    assert await schema(client) == before


async def test_status_lists_each_migration_with_its_time(
    fresh_tarantool: TarantoolProcess, connect: MakeClient, probe_dir: Path
) -> None:
    client = await connect(fresh_tarantool)
    await MigrationRunner(client, MIGRATIONS).apply()

    status = await MigrationRunner(client, probe_dir).status()

    assert [name for name, _, _ in status] == [*ALL, "900_probe.lua"]
    assert [applied for _, applied, _ in status] == [True] * len(ALL) + [False]
    times = [at for _, _, at in status]
    assert all(isinstance(at, float) and at > 1_600_000_000 for at in times[:-1])
    assert times[-1] is None


async def test_concurrent_runners_apply_each_migration_once(
    fresh_tarantool: TarantoolProcess, connect: MakeClient, probe_dir: Path
) -> None:
    first = MigrationRunner(await connect(fresh_tarantool), probe_dir)
    second = MigrationRunner(await connect(fresh_tarantool), probe_dir)

    applied_first, applied_second = await asyncio.gather(first.apply(), second.apply())

    combined = applied_first + applied_second
    assert sorted(combined) == [*ALL, "900_probe.lua"]
    client = await connect(fresh_tarantool)
    assert await probe_runs(client) == 1
    assert all(applied for _, applied, _ in await first.status())


def _cli_env(server: TarantoolProcess, migrations: Path, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "KV_TARANTOOL_URI": f"{server.address.host}:{server.address.port}",
        "KV_TARANTOOL_USER": server.user,
        "KV_TARANTOOL_PASSWORD": server.password,
        "KV_MIGRATIONS_DIR": str(migrations),
        "KV_DATA_DIR": str(data_dir),
        "KV_LOG_FORMAT": "text",
    }


async def _kv_api(env: dict[str, str], *args: str) -> tuple[int, str]:
    executable = Path(sys.executable).parent / "kv-api"
    process = await asyncio.create_subprocess_exec(
        str(executable),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, output.decode()


async def _migrate_twice_at_once(env: dict[str, str]) -> tuple[Any, list[str]]:
    """Two `kv-api migrate` processes started together: both must succeed; the migration names
    they report applying, together."""
    results = await asyncio.gather(_kv_api(env, "migrate"), _kv_api(env, "migrate"))
    assert [code for code, _ in results] == [0, 0], results
    names = [
        name
        for _, output in results
        for line in output.splitlines()
        if line.startswith("applied ") and ": " in line
        for name in line.split(": ", 1)[1].split(", ")
    ]
    return results, names


@pytest.mark.slow
async def test_two_migrate_processes_apply_each_migration_once(
    fresh_tarantool: TarantoolProcess, connect: MakeClient, probe_dir: Path, tmp_path: Path
) -> None:
    env = _cli_env(fresh_tarantool, probe_dir, tmp_path / "data")

    results, names = await _migrate_twice_at_once(env)

    assert sorted(names) == [*ALL, "900_probe.lua"], results
    client = await connect(fresh_tarantool)
    assert await probe_runs(client) == 1
    # both defined the functions at once; they are in place for a client that cannot define
    names = ["kv_write_pairs", "kv_watch"]
    assert await callable_functions(client, names) == names
    bare = TarantoolClient(client.address, fresh_tarantool.user, fresh_tarantool.password, 5, 30)
    try:
        assert await bare.wait_connected(10.0)
        assert await bare.call("kv_user_list", [10]) == []
    finally:
        await bare.close()

    code, status = await _kv_api(env, "migrate", "--status")
    assert code == 0, status
    lines = [line.split() for line in status.splitlines() if line.strip()]
    assert lines == [["applied", name] for name in [*ALL, "900_probe.lua"]]


async def test_failed_migration_is_not_recorded_and_releases_the_lock(
    fresh_tarantool: TarantoolProcess, connect: MakeClient, tmp_path: Path
) -> None:
    directory = tmp_path / "broken"
    shutil.copytree(MIGRATIONS, directory)
    (directory / "900_probe.lua").write_text("error('half-written migration')")
    runner = MigrationRunner(await connect(fresh_tarantool), directory)

    with pytest.raises(MigrationFailed, match=r"900_probe\.lua failed: .*half-written migration"):
        await runner.apply()

    assert [applied for _, applied, _ in await runner.status()] == [True] * len(ALL) + [False]
    (directory / "900_probe.lua").write_text(PROBE)
    assert await asyncio.wait_for(runner.apply(), 10) == ["900_probe.lua"]


@pytest.mark.slow
async def test_migrate_reports_a_failing_migration_in_one_line(
    fresh_tarantool: TarantoolProcess, tmp_path: Path
) -> None:
    directory = tmp_path / "broken"
    shutil.copytree(MIGRATIONS, directory)
    (directory / "900_probe.lua").write_text("error('half-written migration')")

    code, output = await _kv_api(_cli_env(fresh_tarantool, directory, tmp_path / "data"), "migrate")

    assert code == 1, output
    assert "900_probe.lua failed" in output and "half-written migration" in output
    assert "Traceback" not in output
