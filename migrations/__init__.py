"""Ordered Tarantool migrations, shipped as package data (NNN_name.lua)."""
