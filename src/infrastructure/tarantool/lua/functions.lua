-- The functions the API calls by name: the exports of these modules, which Tarantool runs as
-- global Lua functions of the same names (src/infrastructure/tarantool/functions.py).
local MODULES = {
    'kv_api.kv', 'kv_api.changes', 'kv_api.accounts', 'kv_api.sessions', 'kv_api.ops', 'kv_api.quotas',
}

local exported = {}
for _, name in ipairs(MODULES) do
    for function_name, fn in pairs(require(name)) do
        assert(exported[function_name] == nil, function_name .. ' is exported twice')
        exported[function_name] = fn
    end
end
return exported
