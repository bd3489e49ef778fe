-- The change feed: a user's logged changes after a revision (kv_api.change_log), waiting for
-- new ones on the user's watcher condition (kv_api.watchers), and the log's purge by age.
local fiber = require('fiber')
local changelog = require('kv_api.change_log')
local pair = require('kv_api.pair')
local session = require('kv_api.session').check
local watchers = require('kv_api.watchers')

-- One pass examines about SCAN logged changes (whole revisions): a prefix matching nothing
-- must not hold the transaction thread for the whole log; having passed over that many
-- without a match it answers at once, empty, with the revision reached.
local SCAN = 2000
-- The longest wait at a time: a watch ends once its caller's connection is gone (an API
-- process killed or restarted) instead of waiting out its timeout on one of Tarantool's
-- net_msg_max request slots (docs/decisions/013).
local SLICE = 1.0

local M = {}
-- The calls waiting now, by the id their caller gave: a caller whose client has gone cancels
-- its call (kv_watch_cancel), which then ends at once and gives its request slot back.
local active, cancelled = {}, {}

-- A change's members besides its key and value, in stored bytes (the API counts the same).
local CHANGE_OVERHEAD = 32

-- The changes after `since` matching `prefix`, oldest first, whole revisions only: at most
-- `limit` unless one revision holds more, and about `max_bytes` stored bytes (each change
-- its key, its value's tuple and CHANGE_OVERHEAD; one change always). A revision larger than
-- that is answered in fragments: the answer then stops inside it, its revision is `since`'s
-- and its offset says how many of the next revision's changes were passed over; the next
-- call gives that offset with the same since. Waits up to `timeout` seconds if none yet.
-- Answers {'changes', {{key, op, version, revision, value?}...}, revision, ended, offset}
-- (ended: the session stopped being valid while waiting, after the changes listed),
-- {'compacted', oldest since still answerable, revision}, or nil for an invalid session or a
-- caller gone while waiting. Since 0 is a client starting from nothing: it gets what is still
-- kept, never 'compacted'.
local function watch(uid, ver, jti, prefix, since, limit, timeout, with_values, call_id,
                     max_bytes, offset)
    if session(uid, ver, jti) == nil then return nil end
    -- a nil argument arrives as box.NULL, which `or` keeps: compare with nil instead
    if max_bytes == nil then max_bytes = math.huge end
    if offset == nil then offset = 0 end
    local deadline = fiber.clock() + timeout
    local changes, data = box.space.kv_changes, box.space.kv_data.index.primary
    local found, scanned, waited, from_start = {}, since, false, since == 0
    while true do
        local rev, compacted = changelog.revision(uid)
        if since < compacted then
            if not from_start then return {'compacted', compacted, rev} end
            since, offset = compacted, 0
            if scanned < compacted then scanned = compacted end
        end
        if scanned > rev then scanned = rev end
        local now, current, budget, bytes, position = fiber.time(), nil, SCAN, 0, 0
        local resumed = scanned == since and offset or 0  -- changes of the first revision seen
        for _, t in changes.index.primary:pairs({uid, scanned}, {iterator = 'GT'}) do
            if t[1] ~= uid then break end
            if t[2] ~= current then
                if #found >= limit or budget <= 0 then break end
                if current ~= nil then scanned, resumed = current, 0 end
                current, position = t[2], 0
            end
            budget = budget - #t[5]
            for _, e in ipairs(t[5]) do
                position = position + 1
                local key = e[1]
                if position > resumed and key:sub(1, #prefix) == prefix then
                    local change, cost = {key, e[2], e[3], t[2]}, #key + CHANGE_OVERHEAD
                    if with_values and e[2] == 'put' then
                        local stored = data:get({uid, key})
                        if stored ~= nil and pair.version(stored) == e[3] and pair.live(stored, now) then
                            change[5], cost = stored[3], cost + stored:bsize()
                        end
                    end
                    if #found > 0 and bytes + cost > max_bytes then
                        -- the rest of this revision, from this change on, comes next time
                        return {'changes', found, scanned, false, position - 1}
                    end
                    bytes = bytes + cost
                    found[#found + 1] = change
                end
            end
        end
        if current ~= nil then scanned = current end
        -- Changes made before the session ended (an account's deletion) are still answered.
        local ended = waited and session(uid, ver, jti) == nil
        local left = deadline - fiber.clock()
        if #found > 0 or left <= 0 or ended or (budget <= 0 and scanned < rev) then
            return {'changes', found, scanned, ended, 0}
        end
        -- nobody is left to answer: give the request slot back (box.session.peer() is nil once
        -- the caller's connection has closed)
        if waited and box.session.peer() == nil then return nil end
        watchers.wait(uid, math.min(left, SLICE))
        if call_id ~= nil and cancelled[call_id] then return nil end
        waited = true
    end
end

-- The watch above, under the id its caller gives it (optional), which kv_watch_cancel ends.
function M.kv_watch(uid, ver, jti, prefix, since, limit, timeout, with_values, call_id,
                    max_bytes, offset)
    if call_id == nil then
        return watch(uid, ver, jti, prefix, since, limit, timeout, with_values, nil, max_bytes, offset)
    end
    active[call_id] = true
    local ok, answer = pcall(watch, uid, ver, jti, prefix, since, limit, timeout, with_values,
                             call_id, max_bytes, offset)
    active[call_id], cancelled[call_id] = nil, nil
    if not ok then error(answer) end
    return answer
end

-- Ends the watch call `call_id` of user `uid` if it is still waiting: it answers nil.
function M.kv_watch_cancel(uid, call_id)
    if active[call_id] then
        cancelled[call_id] = true
        watchers.wake(uid)
    end
    return true
end

-- Removes up to `batch` change-log parts older than `cutoff` (oldest first) and forgets the
-- revisions of deleted users once their log is empty. Answers the number of changes removed.
function M.kv_purge_changes(cutoff, batch)
    if box.info.ro then return 0 end
    local changes, revisions = box.space.kv_changes, box.space.kv_revisions
    local old = {}
    for _, t in changes.index.at:pairs({}, {iterator = 'GE'}) do
        if t[4] >= cutoff or #old >= batch then break end
        old[#old + 1] = t
    end
    local removed = 0
    box.atomic(function()
        for _, t in ipairs(old) do
            changes:delete({t[1], t[2], t[3]})
            local count = changelog.entries(t)
            removed = removed + count
            local r = revisions:get(t[1])
            if r ~= nil then
                local kept = math.max(0, r[3] - count)
                if kept == 0 and box.space.kv_users:get(t[1]) == nil then
                    revisions:delete(t[1])
                else
                    revisions:replace{t[1], r[2], kept, math.max(r[4], t[2])}
                end
            end
        end
    end)
    return removed
end

return M
