"""Admin commands that talk to the configured (or embedded) Tarantool without serving HTTP."""

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from kv_api.application.errors import StorageUnavailable
from kv_api.infrastructure.settings import Settings, StartupError
from kv_api.infrastructure.tarantool.backup import BackupError
from kv_api.infrastructure.tarantool.endpoint import ENDPOINT_FILE, running_endpoint, serving_pid
from kv_api.infrastructure.tarantool.migrations import MigrationFailed, MigrationRunner
from kv_api.infrastructure.tarantool.storage import Storage
from kv_api.presentation.admin_backup import run_backup_command
from kv_api.presentation.admin_users import AdminError, read_new_password, run_user_command


def _join_running_server(settings: Settings) -> Settings:
    """Embedded mode with a server running: talk to its Tarantool instead of starting one."""
    if not settings.embedded:
        return settings
    running = running_endpoint(settings.data_dir)
    if running is not None:
        address, user, password = running
        return replace(
            settings, tarantool=address, tarantool_user=user, tarantool_password=password
        )
    pid = serving_pid(settings.data_dir)
    if pid is not None:  # a server that does not record its endpoint: never replace its store
        raise StartupError(
            f"a server is using the embedded tarantool in {settings.data_dir} (pid {pid}) "
            f"but left no {ENDPOINT_FILE}; restart it with this version, or stop it first"
        )
    return settings


@asynccontextmanager
async def connected_storage(settings: Settings) -> AsyncIterator[Storage]:
    storage = Storage(_join_running_server(settings))
    if storage.managed is not None:
        await storage.managed.start()
    try:
        if not await storage.primary.wait_connected(max(settings.connect_timeout, 15.0)):
            address = storage.primary.address
            raise StartupError(f"cannot reach tarantool at {address.host}:{address.port}")
        yield storage
    finally:
        await storage.stop()


async def _migrate(storage: Storage, settings: Settings, args: argparse.Namespace) -> str:
    runner = MigrationRunner(storage.primary, settings.migrations_dir)
    if args.status:
        rows = await runner.status()
        return "\n".join(f"{'applied' if done else 'pending'}  {name}" for name, done, _ in rows)
    names = await runner.apply()
    await storage.define_functions()
    return f"applied {len(names)} migration(s)" + (": " + ", ".join(names) if names else "")


async def run_admin(settings: Settings, args: argparse.Namespace) -> int:
    """Exit codes: 0 done, 1 refused (user exists, unknown user, bad password), 2 set-up."""
    try:
        if args.command in {"backup", "restore"}:
            output = await run_backup_command(settings, args)
            print(output)
            return 0
        asks = args.command == "user" and args.user_command in {"create", "set-password"}
        password = read_new_password(sys.stdin) if asks else ""
        async with connected_storage(settings) as storage:
            if args.command == "user":
                output = await run_user_command(settings, storage, args, password)
            else:
                output = await _migrate(storage, settings, args)
    except (AdminError, MigrationFailed, BackupError) as exc:
        print(f"kv-api: {exc}", file=sys.stderr)
        return 1
    except StorageUnavailable:
        raise StartupError("tarantool stopped answering; try again") from None
    if output:
        print(output)
    return 0
