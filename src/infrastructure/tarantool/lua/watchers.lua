-- Waiting watches: a fiber condition per user with a waiter, broadcast by every call that
-- changes what the user's watches answer (after its commit).
-- This state lives as long as this module: a second API process defining the same code
-- keeps it. When the code changes, the new module starts with no waiters: a watch still
-- waiting on the old code's condition is not woken by the new code's writers, and sees their
-- changes when its one-second slice ends (kv_watch never waits longer at a time).
local fiber = require('fiber')

local M = {}
M.waiters = {}  -- uid -> {cond, n}

function M.wake(uid)
    local w = M.waiters[uid]
    if w ~= nil then w.cond:broadcast() end
end

function M.wait(uid, timeout)
    local w = M.waiters[uid]
    if w == nil then
        w = {cond = fiber.cond(), n = 0}
        M.waiters[uid] = w
    end
    w.n = w.n + 1
    w.cond:wait(timeout)
    w.n = w.n - 1
    if w.n == 0 and M.waiters[uid] == w then M.waiters[uid] = nil end
end

return M
