-- Tarantool CPU of the batch functions in-process, without the network or the API:
--   cd <checkout> && tarantool bench/lua_cost.lua
-- A throwaway instance (no WAL, files in a temp folder) gets every migration and the Lua
-- modules of src/infrastructure/tarantool/lua, then each function is called as the API calls
-- it, 200 times, and its thread CPU per call printed.
local fio = require('fio')
local here = fio.dirname(fio.abspath(debug.getinfo(1, 'S').source:sub(2)))
local root = fio.pathjoin(here, '..')
local work = fio.tempdir()
box.cfg{log_level = 1, wal_mode = 'none', memtx_memory = 512 * 1024 * 1024, work_dir = work}
local names = fio.glob(fio.pathjoin(root, 'migrations', '[0-9]*.lua'))
table.sort(names)
for _, name in ipairs(names) do dofile(name) end
-- the modules as the API defines them: kv_api.<file name>, the functions as globals
for _, path in ipairs(fio.glob(fio.pathjoin(root, 'src/infrastructure/tarantool/lua/*.lua'))) do
    package.preload['kv_api.' .. fio.basename(path, '.lua')] = assert(loadfile(path))
end
for name, fn in pairs(require('kv_api.functions')) do rawset(_G, name, fn) end

local msgpack, clock, NULL = require('msgpack'), require('clock'), box.NULL
local uid = kv_user_create('bench', 'bench', 'h', NULL, NULL, NULL, 0, 0)[1]
local keys, tuples, expected = {}, {}, {{}, {}}
for i = 1, 1000 do
    keys[i] = 'key' .. i
    -- as the API sends them: [owner, key, value] under a 5-field header
    tuples[i] = '\149' .. msgpack.encode(uid) .. msgpack.encode(keys[i]) .. msgpack.encode('value-' .. i)
    expected[1][i], expected[2][i] = keys[i], 0
end

local function cost(name, call)
    call()
    collectgarbage('collect')
    local started = clock.thread()
    for _ = 1, 200 do call() end
    print(string.format('%-44s %7.0f us per call', name, (clock.thread() - started) / 200 * 1e6))
end
local write, read = kv_write, kv_read
-- the default quota (KV_USER_MAX_KEYS, KV_USER_MAX_BYTES), as the API passes it
local MAX_KEYS, MAX_BYTES = 250000, 64 * 1024 * 1024
cost('kv_write, 1,000 pairs', function()
    write(uid, 0, 'jti', false, keys, tuples, NULL, NULL, NULL, 100000, MAX_KEYS, MAX_BYTES)
end)
cost('kv_write, 1,000 pairs with a ttl', function()
    write(uid, 0, 'jti', false, keys, tuples, 3600, NULL, NULL, 100000, MAX_KEYS, MAX_BYTES)
end)
cost('kv_write, 1,000 failing conditions', function()
    write(uid, 0, 'jti', false, keys, tuples, NULL, NULL, expected, 100000, MAX_KEYS, MAX_BYTES)
end)
cost('kv_read, 10 keys', function() read(uid, 0, 'jti', {unpack(keys, 1, 10)}, 1e9) end)
cost('kv_read, 1,000 keys', function() read(uid, 0, 'jti', keys, 1e9) end)
fio.rmtree(work)
os.exit(0)
