"""Admin commands that talk to the configured (or embedded) Tarantool without serving HTTP."""

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from infrastructure.settings import Settings, StartupError
from infrastructure.tarantool.migrations import MigrationRunner
from infrastructure.tarantool.storage import Storage


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


async def run_admin(settings: Settings, args: argparse.Namespace) -> int:
    async with connected_storage(settings) as storage:
        runner = MigrationRunner(storage.primary, settings.migrations_dir)
        if args.command == "migrate" and args.status:
            for name, applied, _ in await runner.status():
                print(f"{'applied' if applied else 'pending'}  {name}")
            return 0
        if args.command == "migrate":
            names = await runner.apply()
            print(f"applied {len(names)} migration(s)" + (": " + ", ".join(names) if names else ""))
            return 0
    return 2
