-- Tarantool instance script for kv-api: used by the managed local instance (kv-api serve with
-- KV_TARANTOOL_URI unset) and by the tarantool container in docker-compose.yml.
-- Usage: tarantool instance.lua <port>; everything else comes from the environment.
local port = ... or os.getenv('KV_TT_PORT') or '3301'
local user = os.getenv('KV_TT_USER') or 'kv_api'
local password = os.getenv('KV_TT_PASSWORD')
if password == nil or password == '' then error('KV_TT_PASSWORD must be set') end
-- KV_TT_LOG unset: a file in the work dir; set but empty: stderr (containers).
local log = os.getenv('KV_TT_LOG')
if log == nil then log = 'tarantool.log' elseif log == '' then log = nil end

box.cfg{
    work_dir = os.getenv('KV_TT_WORK_DIR'),
    wal_mode = os.getenv('KV_TT_WAL_MODE') or 'write',
    memtx_memory = tonumber(os.getenv('KV_TT_MEMORY') or 1024 * 1024 * 1024),
    memtx_max_tuple_size = tonumber(os.getenv('KV_TT_TUPLE_SIZE') or 1024 * 1024 + 68 * 1024),
    log = log,
    pid_file = 'tarantool.pid',
    checkpoint_interval = 3600,
    checkpoint_count = 2,
}

-- The application user exists with its grants before the port opens, so no client ever sees a
-- half-configured instance. guest gets nothing.
box.schema.user.create(user, {password = password, if_not_exists = true})
box.schema.user.passwd(user, password)
box.schema.user.grant(user, 'read,write,execute,create,alter,drop', 'universe', nil, {if_not_exists = true})
box.schema.user.grant(user, 'replication', nil, nil, {if_not_exists = true})

box.cfg{listen = (os.getenv('KV_TT_LISTEN_HOST') or '127.0.0.1') .. ':' .. port}
