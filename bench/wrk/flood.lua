-- kv.lua for a noisy neighbour: the same requests, with the answers counted by status (a
-- flood past the API's per-user cap gets 429s, which are part of what it measures).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "kv.lua")

statuses = {}

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end
