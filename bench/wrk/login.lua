-- POST /api/login continuously as the bench user (BENCH_USERNAME, BENCH_PASSWORD).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local function quoted(text)
    return '"' .. text:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

local username = assert(os.getenv("BENCH_USERNAME"), "BENCH_USERNAME is not set")
local password = assert(os.getenv("BENCH_PASSWORD"), "BENCH_PASSWORD is not set")

wrk.method = "POST"
wrk.body = '{"username": ' .. quoted(username) .. ', "password": ' .. quoted(password) .. "}"
wrk.headers["Content-Type"] = "application/json"

-- Logins are few, so counting their statuses costs nothing worth measuring.
statuses = {}

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end
