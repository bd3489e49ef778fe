"""Admin commands that talk to the configured (or embedded) Tarantool without serving HTTP."""

import argparse
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from kv_api.application.errors import StorageUnavailable
from kv_api.infrastructure.settings import Settings, StartupError
from kv_api.infrastructure.tarantool.migrations import MigrationFailed, MigrationRunner
from kv_api.infrastructure.tarantool.storage import Storage
from kv_api.presentation.admin_users import AdminError, read_new_password, run_user_command


@asynccontextmanager
async def connected_storage(settings: Settings) -> AsyncIterator[Storage]:
    storage = Storage(settings)
    if storage.managed is not None:
        await storage.managed.start()
    try:
        if not await storage.primary.wait_connected(max(settings.connect_timeout, 15.0)):
            address = storage.primary.address
            raise StartupError(f"cannot reach tarantool at {address.host}:{address.port}")
        yield storage
    finally:
        await storage.stop()


def ensure_not_served(settings: Settings) -> None:
    """The embedded Tarantool of a running server must not be replaced under its feet."""
    work_dir = (settings.data_dir / "tarantool").resolve()
    with contextlib.suppress(OSError, ValueError):
        pid = int((work_dir / "tarantool.pid").read_text().strip())
        if os.readlink(f"/proc/{pid}/cwd") == str(work_dir):
            raise StartupError(
                f"a server is using the embedded tarantool in {settings.data_dir} (pid {pid}); "
                "stop it first, or run kv-api with KV_TARANTOOL_URI pointing at a tarantool"
            )


async def _migrate(storage: Storage, settings: Settings, args: argparse.Namespace) -> str:
    runner = MigrationRunner(storage.primary, settings.migrations_dir)
    if args.status:
        rows = await runner.status()
        return "\n".join(f"{'applied' if done else 'pending'}  {name}" for name, done, _ in rows)
    names = await runner.apply()
    return f"applied {len(names)} migration(s)" + (": " + ", ".join(names) if names else "")


async def run_admin(settings: Settings, args: argparse.Namespace) -> int:
    """Exit codes: 0 done, 1 refused (user exists, unknown user, bad password), 2 set-up."""
    try:
        if settings.embedded:
            ensure_not_served(settings)
        creating = args.command == "user" and args.user_command == "create"
        password = read_new_password(sys.stdin) if creating else ""
        async with connected_storage(settings) as storage:
            if args.command == "user":
                output = await run_user_command(settings, storage, args, password)
            else:
                output = await _migrate(storage, settings, args)
    except (AdminError, MigrationFailed) as exc:
        print(f"kv-api: {exc}", file=sys.stderr)
        return 1
    except StorageUnavailable:
        raise StartupError("tarantool stopped answering; try again") from None
    if output:
        print(output)
    return 0
