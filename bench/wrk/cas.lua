-- POST /api/write with if_version for every key. Each wrk thread has one connection and owns
-- one key set: its body file is BENCH_BODY_PREFIX .. n .. ".json" with 987654321 standing for
-- the expected version, which starts at the n-th of BENCH_VERSIONS (read by bench/run.py just
-- before) and goes up by one per win. A 409 (should not happen) is counted, and the version is
-- taken from its answer so the run goes on winning.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local MARK = "987654321"
local token = assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN is not set")
local prefix = assert(os.getenv("BENCH_BODY_PREFIX"), "BENCH_BODY_PREFIX is not set")
local start = {}
for v in assert(os.getenv("BENCH_VERSIONS"), "BENCH_VERSIONS is not set"):gmatch("%d+") do
    start[#start + 1] = tonumber(v)
end

local count_thread = setup
local owners = 0
function setup(thread)
    count_thread(thread)
    thread:set("owner", owners)
    owners = owners + 1
end

local parts, version
statuses = {}

function init(args)
    version = assert(start[owner + 1], "fewer BENCH_VERSIONS than threads")
    local file = assert(io.open(prefix .. owner .. ".json", "rb"))
    local body = file:read("*a")
    file:close()
    parts = {}
    local from = 1
    while true do
        local i, j = body:find(MARK, from, true)
        if i == nil then break end
        parts[#parts + 1] = body:sub(from, i - 1)
        from = j + 1
    end
    parts[#parts + 1] = body:sub(from)
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
    return wrk.format(nil, nil, nil, table.concat(parts, tostring(version)))
end

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    if status == 200 then
        version = version + 1
    elseif status == 409 then
        version = tonumber(body:match('"current":%s*(%d+)')) or version
    end
end
