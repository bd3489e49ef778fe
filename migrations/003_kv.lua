-- Key-value pairs: the primary key (owner, key) gives every user a private, ordered keyspace.
-- Values are stored as native MessagePack of any type.
local kv = box.schema.space.create('kv_data', {
    if_not_exists = true,
    format = {
        {name = 'owner', type = 'unsigned'},
        {name = 'key', type = 'string'},
        {name = 'value', type = 'any'},
    },
})
kv:create_index('primary', {if_not_exists = true, parts = {'owner', 'key'}})
