-- A watch ends once its caller's connection is gone (an API process killed or restarted)
-- instead of waiting out its timeout on one of Tarantool's net_msg_max request slots: it
-- waits at most a second at a time and then looks at box.session.peer(), which is nil once
-- the connection has closed (docs/decisions/017).
-- kv_watch is 007's with its one wait replaced, taken from its stored body: the scan, its
-- answers and the helpers it starts with stay written in one place.
local WAIT = '        H.wait(uid, left)\n'
local SLICED = [[
        -- nobody is left to answer: give the request slot back
        if waited and box.session.peer() == nil then return nil end
        H.wait(uid, math.min(left, 1.0))
]]

local stored = box.space._func.index.name:get('kv_watch')
assert(stored ~= nil, 'kv_watch is defined by migration 007')
local at = stored.body:find(WAIT, 1, true)
assert(at ~= nil and stored.body:find(WAIT, at + 1, true) == nil, "007's kv_watch waits once")
local body = stored.body:sub(1, at - 1) .. SLICED .. stored.body:sub(at + #WAIT)

box.schema.func.drop('kv_watch')
box.schema.func.create('kv_watch', {body = body})
