-- Each user's usage and own limits (docs/decisions/017): [owner, keys, bytes, max_keys,
-- max_bytes], keys and bytes being the user's kv_data tuples and the sum of their bsize().
-- An own limit is null (the server's default), -1 (unlimited) or a number.
local usage = box.schema.space.create('kv_usage', {
    if_not_exists = true,
    format = {
        {name = 'owner', type = 'unsigned'},
        {name = 'keys', type = 'integer'},
        {name = 'bytes', type = 'integer'},
        {name = 'max_keys', type = 'integer', is_nullable = true},
        {name = 'max_bytes', type = 'integer', is_nullable = true},
    },
})
usage:create_index('primary', {if_not_exists = true, parts = {'owner'}})

-- The usage of the pairs already stored, 100 accounts per transaction: an account's pairs are
-- counted and its row written with no yield in between, so no write of its can fall between
-- the two; the commits between the chunks let other requests run during a long count.
-- Counted afresh on a second run (a run cut short is not recorded); own limits already set
-- stay. Accounts without pairs get no row until they write.
local data, users = box.space.kv_data, box.space.kv_users
local function count(uid)
    local keys, bytes = 0, 0
    for _, t in data:pairs({uid}, {iterator = 'EQ'}) do
        keys, bytes = keys + 1, bytes + t:bsize()
    end
    if usage:get(uid) ~= nil then
        usage:update(uid, {{'=', 2, keys}, {'=', 3, bytes}})
    elseif keys > 0 then
        usage:insert{uid, keys, bytes, box.NULL, box.NULL}
    end
end

local chunk = users:select({}, {limit = 100})
while #chunk > 0 do
    box.atomic(function()
        for _, user in ipairs(chunk) do count(user[1]) end
    end)
    chunk = users:select({chunk[#chunk][1]}, {iterator = 'GT', limit = 100})
end
