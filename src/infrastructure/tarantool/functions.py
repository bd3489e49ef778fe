"""The Lua functions the API calls, defined in Tarantool from the modules in lua/.

They are global Lua functions, not persistent ones: they vanish when Tarantool restarts, so the
API defines them at each start and again whenever a call finds one missing (client.py). One
eval sends every module with a digest of them all; it does nothing when that digest is already
defined, so the modules' state (watchers waiting, buffers) outlives a second API process
starting with the same code. The eval never yields: definers starting at once cannot interleave.
"""

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

LUA_DIR = Path(__file__).with_name("lua")
PACKAGE = "kv_api"
ENTRY = f"{PACKAGE}.functions"

# The modules go to package.preload under chunk names such as '@kv_api/kv.lua', so errors and
# tracebacks name the file. They are all loaded before any global changes: a module that fails
# to load leaves the functions already defined in place.
_DEFINE = """
local digest, sources, prefix, entry = ...
if rawget(_G, '__kv_api_digest') == digest then return false end
local chunks = {}
for name, source in pairs(sources) do
    chunks[name] = assert(loadstring(source, '@' .. (name:gsub('%.', '/')) .. '.lua'))
end
for name in pairs(package.loaded) do
    if name:sub(1, #prefix) == prefix then package.loaded[name] = nil end
end
for name, chunk in pairs(chunks) do package.preload[name] = chunk end
local functions = require(entry)
for _, name in ipairs(rawget(_G, '__kv_api_functions') or {}) do rawset(_G, name, nil) end
local names = {}
for name, fn in pairs(functions) do
    rawset(_G, name, fn)
    names[#names + 1] = name
end
rawset(_G, '__kv_api_functions', names)
rawset(_G, '__kv_api_digest', digest)
return true
"""


class Evaluator(Protocol):
    async def eval(self, code: str, args: list[Any]) -> Any: ...


@dataclass(frozen=True, slots=True)
class LuaModules:
    sources: dict[str, str]  # module name (kv_api.kv) -> its source
    digest: str


def read_modules(directory: Path = LUA_DIR) -> LuaModules:
    digest = hashlib.sha256()
    sources: dict[str, str] = {}
    for path in sorted(directory.glob("*.lua")):
        name = f"{PACKAGE}.{path.stem}"
        sources[name] = path.read_text(encoding="utf-8")
        for part in (name, sources[name]):
            digest.update(part.encode())
            digest.update(b"\0")
    return LuaModules(sources, digest.hexdigest())


@functools.cache
def installed_modules() -> LuaModules:
    return read_modules()


async def define_functions(conn: Evaluator, modules: LuaModules | None = None) -> bool:
    """True when this call defined them, False when the same code was already defined."""
    modules = modules or installed_modules()
    args = [modules.digest, modules.sources, f"{PACKAGE}.", ENTRY]
    return bool(await conn.eval(_DEFINE, args))
