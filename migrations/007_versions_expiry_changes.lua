-- Versions, expiry and the change feed.
-- kv_data gains two nullable fields, so existing tuples stay as they are: a missing version
-- reads as 1 and a missing expires_at as "never". Every change of a user's keys advances that
-- user's revision (kv_revisions) and is logged in kv_changes, one tuple per revision part.
local data = box.space.kv_data
data:format({
    {name = 'owner', type = 'unsigned'},
    {name = 'key', type = 'string'},
    {name = 'value', type = 'any'},
    {name = 'version', type = 'unsigned', is_nullable = true},
    {name = 'expires_at', type = 'number', is_nullable = true},
})
-- Pairs with an expiry, in expiry order, for the purge. A space of their own rather than an
-- index on kv_data: 2.6 has no exclude_null, so such an index would hold every pair and cost
-- every write (docs/decisions/012).
local expiry = box.schema.space.create('kv_expiry', {
    if_not_exists = true,
    format = {
        {name = 'expires_at', type = 'number'},
        {name = 'owner', type = 'unsigned'},
        {name = 'key', type = 'string'},
    },
})
expiry:create_index('primary', {if_not_exists = true, parts = {'expires_at', 'owner', 'key'}})

local revisions = box.schema.space.create('kv_revisions', {
    if_not_exists = true,
    format = {
        {name = 'owner', type = 'unsigned'},
        {name = 'revision', type = 'unsigned'},
        {name = 'kept', type = 'unsigned'},       -- changes still in the log
        {name = 'compacted', type = 'unsigned'},  -- the newest revision purged from the log
    },
})
revisions:create_index('primary', {if_not_exists = true, parts = {'owner'}})

local changes = box.schema.space.create('kv_changes', {
    if_not_exists = true,
    format = {
        {name = 'owner', type = 'unsigned'},
        {name = 'revision', type = 'unsigned'},
        {name = 'part', type = 'unsigned'},
        {name = 'at', type = 'number'},
        {name = 'entries', type = 'array'},  -- {key, op, version} per changed key
    },
})
changes:create_index('primary', {if_not_exists = true, parts = {'owner', 'revision', 'part'}})
changes:create_index('at', {if_not_exists = true, unique = false, parts = {'at'}})
