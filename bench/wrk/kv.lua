-- POST /api/read or /api/write with a body prepared by bench/run.py (BENCH_BODY_FILE),
-- authorised with the token the runner got from /api/login (BENCH_TOKEN).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local token = assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN is not set")
local file = assert(io.open(assert(os.getenv("BENCH_BODY_FILE"), "BENCH_BODY_FILE is not set"), "rb"))
local body = file:read("*a")
file:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
