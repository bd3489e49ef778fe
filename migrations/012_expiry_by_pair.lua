-- The expiry schedule found by pair (docs/decisions/018): kv_expiry keeps its fields
-- [expires_at, owner, key]; its primary index becomes (owner, key), one row per pair, so a
-- write reaches a pair's row in one lookup; the new 'due' index orders the purge.
local expiry, data = box.space.kv_expiry, box.space.kv_data

-- Only rows that match their pair's expiry stay: under the unique (owner, key) no pair may
-- have two. A chunk per transaction, so other requests run between them.
if #expiry.index.primary.parts == 3 then
    local chunk = expiry:select({}, {limit = 1000})
    while #chunk > 0 do
        box.atomic(function()
            for _, e in ipairs(chunk) do
                local t = data:get({e[2], e[3]})
                if t == nil or t[5] ~= e[1] then expiry:delete({e[1], e[2], e[3]}) end
            end
        end)
        local last = chunk[#chunk]
        chunk = expiry:select({last[1], last[2], last[3]}, {iterator = 'GT', limit = 1000})
    end
end
expiry:create_index('due', {if_not_exists = true, unique = true, parts = {'expires_at', 'owner', 'key'}})
if #expiry.index.primary.parts == 3 then
    expiry.index.primary:alter({parts = {'owner', 'key'}})
end
