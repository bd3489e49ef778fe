"""kv-api: authenticated batch key-value HTTP API on Tarantool."""
