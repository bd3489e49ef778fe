-- Tarantool CPU of the batch functions in-process, without the network or the API:
--   cd <checkout> && tarantool bench/lua_cost.lua [processes, default 3]
-- Each figure comes from throwaway instances of its own (files in a temp folder, the WAL
-- written as the server writes it) with every migration and the Lua modules of
-- src/infrastructure/tarantool/lua: no figure inherits another's compiled traces, and each is
-- the best of several processes, as one process's traces can come out slower than another's
-- for the same code. Three parts:
-- 1. each function called as the API calls it: its thread CPU per call;
-- 2. kv_write_pairs of 1,000 pairs built up a step at a time from the bench's floor
--    (client-packed tuples handed to box_replace, bench/lua/packed_replace.lua): each step's CPU
--    per call and per pair over the one before;
-- 3. the WAL bytes per pair of the floor and of kv_write_pairs (values are random bytes, so the
--    WAL's compression does not hide what is written).
-- In a process, a figure is the best of ROUNDS rounds of CALLS calls: the least disturbed.
local fio = require('fio')
local script = fio.abspath(debug.getinfo(1, 'S').source:sub(2))
local here = fio.dirname(script)
local root = fio.pathjoin(here, '..')
local ROUNDS, CALLS, PAIRS = 6, 40, 1000

local PARTS = {
    {'each function as the API calls it', {
        {'kv_write_pairs, 1,000 pairs', 'write'},
        {'kv_write_pairs, 1,000 pairs with a ttl', 'write_ttl'},
        {'kv_write_pairs, 1,000 failing conditions', 'write_conditions'},
        {'kv_read, 10 keys', 'read10'},
        {'kv_read, 1,000 keys', 'read1000'},
    }},
    {'kv_write_pairs of 1,000 pairs, a step at a time (overwrites, as write1000)', {
        {'client-packed tuples, box_replace only', 'floor'},
        {'+ one lookup per pair', 'lookup'},
        {'+ session, version, expiry field', 'bare_write'},
        {'+ change log and revision', 'logged_write'},
        {'+ usage and quota', 'counted_write'},
        {'+ reserve check: the whole kv_write_pairs', 'write'},
        {'+ a ttl: the expiry schedule', 'write_ttl'},
    }, true},
    {'WAL bytes per pair', {
        {'client-packed tuples, box_replace only', 'floor', 'wal'},
        {'kv_write_pairs', 'write', 'wal'},
        {'kv_write_pairs with a ttl', 'write_ttl', 'wal'},
    }},
}

-- One figure from a child process.
local function measured(name, what)
    local work = fio.tempdir()
    local child = io.popen(string.format("tarantool '%s' child '%s' '%s' %s 2>&1", script, work, name, what))
    local out = child:read('*a')
    child:close()
    fio.rmtree(work)
    local value = tonumber(out:match('^RESULT (%S+)'))
    if value == nil then error('"' .. name .. '" failed: ' .. out) end
    return value
end

-- The parent: each figure the best of `processes` children, taken in turns so that a slow
-- spell of the machine falls on every figure alike.
if arg[1] ~= 'child' then
    local processes = tonumber(arg[1] or 3)
    local best = {}
    for _ = 1, processes do
        for p, part in ipairs(PARTS) do
            for r, row in ipairs(part[2]) do
                local id = p .. '.' .. r
                best[id] = math.min(best[id] or math.huge, measured(row[2], row[3] or 'cpu'))
            end
        end
    end
    for p, part in ipairs(PARTS) do
        print('-- ' .. part[1])
        local before
        for r, row in ipairs(part[2]) do
            local value = best[p .. '.' .. r]
            if row[3] == 'wal' then
                print(string.format('%-44s %7.1f bytes', row[1], value))
            elseif part[3] and before ~= nil then
                print(string.format('%-44s %7.0f us per call  +%5.0f us, %5.2f us per pair',
                    row[1], value, value - before, (value - before) / PAIRS))
            else
                print(string.format('%-44s %7.0f us per call', row[1], value))
            end
            before = value
        end
    end
    os.exit(0)
end

-- A child: one figure.
local work, name, what = arg[2], arg[3], arg[4]
box.cfg{log_level = 1, wal_mode = 'write', memtx_memory = 512 * 1024 * 1024, work_dir = work,
        checkpoint_interval = 0}
local names = fio.glob(fio.pathjoin(root, 'migrations', '[0-9]*.lua'))
table.sort(names)
for _, file in ipairs(names) do dofile(file) end
-- the modules as the API defines them: kv_api.<file name>, the functions as globals
for _, path in ipairs(fio.glob(fio.pathjoin(root, 'src/infrastructure/tarantool/lua/*.lua'))) do
    package.preload['kv_api.' .. fio.basename(path, '.lua')] = assert(loadfile(path))
end
for fname, fn in pairs(require('kv_api.functions')) do rawset(_G, fname, fn) end

local ffi, msgpack, clock, digest = require('ffi'), require('msgpack'), require('clock'), require('digest')
local bytes = require('kv_api.msgpack_bytes')
local NULL = box.NULL
local uid = kv_user_create('bench', 'bench', 'h', NULL, NULL, NULL, 0, 0)[1]
local keys, tails, sizes, whole, expected = {}, {}, {}, {}, {{}, {}}
for i = 1, PAIRS do
    keys[i] = string.format('bench:key:%05d', i)
    tails[i] = msgpack.encode(keys[i]) .. msgpack.encode(digest.urandom(90))
    sizes[i] = #tails[i]
    -- as a client packs them whole for the floor: version 1, no expiry
    whole[i] = '\149' .. msgpack.encode(uid) .. tails[i] .. '\1\192'
    expected[1][i], expected[2][i] = keys[i], 0
end
-- as the API sends a batch: every pair (key, value) in one string, and each one's length
local pairs_blob = table.concat(tails)
-- the default quota (KV_USER_MAX_KEYS, KV_USER_MAX_BYTES), as the API passes it
local MAX_KEYS, MAX_BYTES = 250000, 64 * 1024 * 1024

local function write(ttl, conditions)
    return function()
        kv_write_pairs(uid, 0, 'jti', false, sizes, pairs_blob, ttl, NULL, conditions, 100000, MAX_KEYS, MAX_BYTES)
    end
end

-- The steps of kv_write_pairs are taken out by replacing the module functions it calls with ones
-- that do nothing.
local changelog, usage, reserve = require('kv_api.change_log'), require('kv_api.usage'), require('kv_api.reserve')
local function without(...)
    for _, step in ipairs({...}) do
        if step == 'log' then
            changelog.log_begin = function() return {} end
            changelog.log_add = function() end
            changelog.log_end = function() return 0 end
        elseif step == 'usage' then
            usage.add = function() return nil end
        elseif step == 'reserve' then
            reserve.before = function() return nil end
        end
    end
end

local packed_replace = dofile(fio.pathjoin(here, 'lua', 'packed_replace.lua'))
-- the floor plus one primary-key lookup per pair, as kv_write_pairs makes it
local function replace_after_lookup()
    local C, found, sid = bytes.C, bytes.found, box.space.kv_data.id
    local len = 1 + #msgpack.encode(uid) + bytes.strlen(#keys[1])
    box.atomic(function()
        for _, t in ipairs(whole) do
            local r = ffi.cast('const char *', t)
            local q = bytes.kbuffer(len)
            ffi.copy(q, r, len)
            q[0] = 0x92
            local k = ffi.cast('const char *', q)
            if C.box_index_get(sid, 0, k, k + len, found) ~= 0 then error(box.error.last()) end
            if C.box_replace(sid, r, r + #t, nil) ~= 0 then error(box.error.last()) end
        end
    end)
end

local CALL = {
    write = write(NULL, NULL),
    write_ttl = write(3600, NULL),
    write_conditions = write(NULL, expected),
    read10 = function() kv_read(uid, 0, 'jti', {unpack(keys, 1, 10)}, 1e9) end,
    read1000 = function() kv_read(uid, 0, 'jti', keys, 1e9) end,
    floor = function() packed_replace(whole) end,
    lookup = replace_after_lookup,
    bare_write = write(NULL, NULL),
    logged_write = write(NULL, NULL),
    counted_write = write(NULL, NULL),
}
if name == 'bare_write' then without('log', 'usage', 'reserve')
elseif name == 'logged_write' then without('usage', 'reserve')
elseif name == 'counted_write' then without('reserve') end
local call = assert(CALL[name], name)
if name:match('^read') then write(NULL, NULL)() end

local function wal_bytes()
    local total = 0
    for _, path in ipairs(fio.glob(fio.pathjoin(work, '*.xlog'))) do total = total + fio.stat(path).size end
    return total
end

local result
if what == 'wal' then
    call()
    local start = wal_bytes()
    for _ = 1, CALLS do call() end
    result = (wal_bytes() - start) / (CALLS * PAIRS)
else
    for _ = 1, CALLS do call() end  -- the traces compiled before the first round
    result = math.huge
    for _ = 1, ROUNDS do
        collectgarbage('collect')
        local started = clock.thread()
        for _ = 1, CALLS do call() end
        result = math.min(result, (clock.thread() - started) / CALLS * 1e6)
    end
end
print('RESULT ' .. result)
os.exit(0)
