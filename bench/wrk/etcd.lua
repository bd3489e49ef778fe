-- POST /v3/kv/txn to etcd's JSON gateway with the txn prepared by bench/etcd.py
-- (BENCH_BODY_FILE). No token: the peer runs without authentication.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local file = assert(io.open(assert(os.getenv("BENCH_BODY_FILE"), "BENCH_BODY_FILE is not set"), "rb"))
local body = file:read("*a")
file:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
