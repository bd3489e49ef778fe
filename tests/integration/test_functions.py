"""The Lua functions: defined from src/infrastructure/tarantool/lua by one eval, once per code
version, by any number of API processes at once, and again after a Tarantool restart."""

import asyncio
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from asynctnt.exceptions import TarantoolDatabaseError

from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.infrastructure.tarantool.functions import (
    LUA_DIR,
    define_functions,
    installed_modules,
    read_modules,
)
from kv_api.infrastructure.tarantool.migrations import MigrationRunner
from kv_api.infrastructure.tarantool.storage import Storage
from kv_api.infrastructure.tarantool.users import TarantoolUserRepository
from tests.conftest import settings_for
from tests.integration.conftest import MIGRATIONS, MakeClient
from tests.support.tarantool import TarantoolProcess

ADAPTERS = LUA_DIR.parent
EXPORTED = """
local names = {}
for name in pairs(require('kv_api.functions')) do names[#names + 1] = name end
table.sort(names)
return names
"""
# The identity of a function and of a module's state: kept by a redefinition of the same code.
IDENTITY = (
    "return {tostring(rawget(_G, 'kv_write_pairs')), tostring(package.loaded['kv_api.watchers'])}"
)


def called_by_adapters() -> set[str]:
    names: set[str] = set()
    for path in ADAPTERS.glob("*.py"):
        names |= set(re.findall(r'call\(\s*"(kv_[a-z_]+)"', path.read_text()))
    return names


async def migrated(connect: MakeClient, server: TarantoolProcess) -> TarantoolClient:
    client = await connect(server)
    await MigrationRunner(client, MIGRATIONS).apply()
    return client


async def test_the_modules_export_each_function_the_adapters_call(
    fresh_tarantool: TarantoolProcess, connect: MakeClient
) -> None:
    client = await migrated(connect, fresh_tarantool)
    await define_functions(client)

    assert set(await client.eval(EXPORTED, [])) == called_by_adapters()
    assert len(called_by_adapters()) == 29


async def test_two_definers_at_once_define_once_and_calls_work(
    fresh_tarantool: TarantoolProcess, connect: MakeClient
) -> None:
    first = await migrated(connect, fresh_tarantool)
    second = await connect(fresh_tarantool)

    results = await asyncio.gather(define_functions(first), define_functions(second))

    assert sorted(results) == [False, True]
    for client in (first, second):
        assert await client.call("kv_user_list", [10]) == []


async def test_the_same_code_defined_again_keeps_functions_and_state(
    fresh_tarantool: TarantoolProcess, connect: MakeClient
) -> None:
    client = await migrated(connect, fresh_tarantool)
    assert await define_functions(client) is True
    before = await client.eval(IDENTITY, [])

    assert await define_functions(await connect(fresh_tarantool)) is False

    assert await client.eval(IDENTITY, []) == before


async def test_changed_code_replaces_the_functions_and_drops_the_ones_gone(
    fresh_tarantool: TarantoolProcess, connect: MakeClient, tmp_path: Path
) -> None:
    client = await migrated(connect, fresh_tarantool)
    await define_functions(client)
    before = await client.eval(IDENTITY, [])
    changed = tmp_path / "lua"
    shutil.copytree(LUA_DIR, changed)
    ops = changed / "ops.lua"
    ops.write_text(ops.read_text().replace("function M.kv_store_stats", "local function gone"))
    modules = read_modules(changed)
    assert modules.digest != installed_modules().digest

    assert await define_functions(client, modules) is True

    after = await client.eval(IDENTITY, [])
    assert after[0] != before[0] and after[1] != before[1]
    gone = "return rawget(_G, 'kv_store_stats') == nil and rawget(_G, 'kv_backup_start') ~= nil"
    assert await client.eval(gone, []) is True


async def test_an_error_names_the_module_file_and_line(
    fresh_tarantool: TarantoolProcess, connect: MakeClient
) -> None:
    client = await migrated(connect, fresh_tarantool)
    assert await client.call("kv_user_create", ["a", "a", "h", None, None, None, 0]) is not None

    with pytest.raises(TarantoolDatabaseError, match=r"kv_api/accounts\.lua:\d+: attempt to"):
        await client.call("kv_user_list", [None])


@pytest.mark.slow
async def test_after_a_tarantool_restart_calls_define_the_functions_again(
    tmp_path: Path,
) -> None:
    """Globals do not outlive the process: the API side, not restarted, defines them again
    on the first call that misses one, once for all the calls missing it together."""
    server = TarantoolProcess(tmp_path / "tt").start()
    storage = Storage(settings_for(server, tmp_path / "data"))
    definitions: list[TarantoolClient] = []

    async def counted(client: TarantoolClient) -> bool:
        definitions.append(client)
        await define_functions(client)
        return True

    bare = TarantoolClient(server.address, server.user, server.password, 5.0, 30.0, counted)
    try:
        await storage.start(wait=15.0)
        users = TarantoolUserRepository(storage.primary)
        assert await users.list_usernames(10) == []
        assert await bare.wait_connected(10.0)

        await _restart(server, storage.primary, bare)
        assert await users.list_usernames(10) == []

        await _restart(server, storage.primary, bare)
        calls = [bare.call("kv_user_list", [10]) for _ in range(20)]
        assert await asyncio.gather(*calls) == [[]] * 20
        assert definitions == [bare]
    finally:
        await bare.close()
        await storage.stop()
        server.stop()


async def _restart(server: TarantoolProcess, *clients: TarantoolClient) -> None:
    await asyncio.to_thread(server.kill)
    await _until(lambda: not any(client.connected for client in clients))
    await asyncio.to_thread(server.start)
    await _until(lambda: all(client.connected for client in clients))


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(150):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the clients did not see the tarantool restart")
