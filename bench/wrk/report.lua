-- Shared by the scenario scripts: wrk calls done() once at the end of a run; it prints one
-- line that bench/run.py parses. Latencies are in microseconds. A script that counts
-- response statuses (a global `statuses` table filled in response()) gets them reported.
local threads = {}

function setup(thread)
    threads[#threads + 1] = thread
end

local function status_counts()
    local merged = {}
    for _, thread in ipairs(threads) do
        for status, count in pairs(thread:get("statuses") or {}) do
            merged[status] = (merged[status] or 0) + count
        end
    end
    local parts = {}
    for status, count in pairs(merged) do
        parts[#parts + 1] = string.format('"%d": %d', status, count)
    end
    return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
        '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, ' ..
        '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
        '"statuses": %s}\n',
        summary.requests, summary.duration, summary.bytes,
        latency:percentile(50), latency:percentile(90), latency:percentile(99),
        latency.max, latency.mean,
        e.connect, e.read, e.write, e.status, e.timeout, status_counts()))
end
