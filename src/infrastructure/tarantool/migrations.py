import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from asynctnt.exceptions import TarantoolDatabaseError

log = logging.getLogger("kv_api.migrations")
_NAME = re.compile(r"^(\d{3,})_[a-z0-9_]+\.lua$")

# Runs one migration inside Tarantool: a fiber channel serialises concurrent runners
# (several API processes starting at once), the version space records what ran.
_APPLY = """
local name, source = ...
local fiber = require('fiber')
if rawget(_G, '__kv_migration_lock') == nil then
    rawset(_G, '__kv_migration_lock', fiber.channel(1))
end
local lock = rawget(_G, '__kv_migration_lock')
lock:put(true)
local ok, result = pcall(function()
    local versions = box.schema.space.create('kv_schema_version', {
        if_not_exists = true,
        format = {{name = 'name', type = 'string'}, {name = 'applied_at', type = 'number'}},
    })
    versions:create_index('primary', {if_not_exists = true, parts = {'name'}})
    if versions:get(name) ~= nil then return false end
    local chunk = assert(loadstring(source, '@' .. name))
    chunk()
    versions:replace{name, require('fiber').time()}
    return true
end)
lock:get()
if not ok then error(result) end
return result
"""

_STATUS = """
if box.space.kv_schema_version == nil then return {} end
local rows = {}
for _, t in box.space.kv_schema_version:pairs() do rows[#rows + 1] = {t[1], t[2]} end
return rows
"""


class MigrationFailed(Exception):
    """A migration raised inside Tarantool; it was not recorded and can be retried once fixed."""


class Evaluator(Protocol):
    async def eval(self, code: str, args: list[Any]) -> Any: ...


@dataclass(frozen=True, slots=True)
class Migration:
    name: str
    source: str


def discover(directory: Path) -> list[Migration]:
    if not directory.is_dir():
        raise FileNotFoundError(f"migrations folder not found: {directory}")
    files = sorted(p for p in directory.iterdir() if _NAME.match(p.name))
    return [Migration(p.name, p.read_text(encoding="utf-8")) for p in files]


class MigrationRunner:
    def __init__(self, conn: Evaluator, directory: Path) -> None:
        self._conn = conn
        self._directory = directory

    async def apply(self) -> list[str]:
        applied = []
        for migration in discover(self._directory):
            try:
                done = await self._conn.eval(_APPLY, [migration.name, migration.source])
            except TarantoolDatabaseError as exc:
                raise MigrationFailed(f"migration {migration.name} failed: {exc.message}") from exc
            if done:
                log.info("migration applied", extra={"migration": migration.name})
                applied.append(migration.name)
        return applied

    async def status(self) -> list[tuple[str, bool, float | None]]:
        rows = await self._conn.eval(_STATUS, [])
        done = {str(name): float(at) for name, at in rows}
        return [(m.name, m.name in done, done.get(m.name)) for m in discover(self._directory)]
