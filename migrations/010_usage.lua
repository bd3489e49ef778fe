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

-- The usage of the pairs already stored, counted in one pass that never yields, so no write
-- can fall between the count and its rows. Counted afresh on a second run (a run cut short
-- is not recorded): own limits already set stay. Pairs of accounts already gone get no row.
local counts = {}
for _, t in box.space.kv_data:pairs() do
    local c = counts[t[1]]
    if c == nil then
        c = {0, 0}
        counts[t[1]] = c
    end
    c[1], c[2] = c[1] + 1, c[2] + t:bsize()
end
box.atomic(function()
    for _, u in usage:pairs() do
        if counts[u[1]] == nil then counts[u[1]] = {0, 0} end
    end
    for owner, c in pairs(counts) do
        if usage:get(owner) ~= nil then
            usage:update(owner, {{'=', 2, c[1]}, {'=', 3, c[2]}})
        elseif box.space.kv_users:get(owner) ~= nil then
            usage:insert{owner, c[1], c[2], box.NULL, box.NULL}
        end
    end
end)
