-- Accounts deleted but whose data is still to be purged: an account is gone at once, and its
-- keys, expiries and change log are removed later a small transaction at a time, so deleting
-- a big account stalls nobody.
local deleted = box.schema.space.create('kv_deleted_users', {
    if_not_exists = true,
    format = {
        {name = 'owner', type = 'unsigned'},
        {name = 'deleted_at', type = 'number'},
    },
})
deleted:create_index('primary', {if_not_exists = true, parts = {'owner'}})
