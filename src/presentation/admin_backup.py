"""`kv-api backup DIR` and `kv-api restore DIR` for the embedded store."""

import argparse
import asyncio
from pathlib import Path

from kv_api.infrastructure.data_folder import DataFolderLock, FolderInUse
from kv_api.infrastructure.settings import Settings
from kv_api.infrastructure.tarantool.backup import (
    BackupError,
    check_target,
    pin_checkpoint,
    read_manifest,
    restore_backup,
    unpin_checkpoint,
    write_backup,
)
from kv_api.infrastructure.tarantool.endpoint import serving_pid
from kv_api.infrastructure.tarantool.functions import define_functions
from kv_api.infrastructure.tarantool.migrations import discover

EXTERNAL = (
    "KV_TARANTOOL_URI points at an external tarantool whose files this command cannot read: "
    "on that host run box.backup.start() in its console, copy the files it lists, then "
    "box.backup.stop() (see docs/operations.md, Backup and restore)"
)


async def backup(settings: Settings, target: Path) -> str:
    from kv_api.presentation.admin import connected_storage

    if not settings.embedded:
        raise BackupError(EXTERNAL)
    await asyncio.to_thread(check_target, target)  # before any work
    work_dir = (settings.data_dir / "tarantool").resolve()
    async with connected_storage(settings) as storage:
        # a store this version has not migrated yet can be backed up too: only the function
        # that starts the backup is needed, and it touches no space of ours
        await define_functions(storage.primary)
        pinned = await pin_checkpoint(storage.primary, work_dir)
        try:  # the copy reads the files here, in the data folder, while the server goes on
            manifest = await asyncio.to_thread(write_backup, pinned, settings.data_dir, target)
        finally:
            await unpin_checkpoint(storage.primary)
    size = sum(int(entry["size"]) for entry in manifest["files"])
    return (
        f"backed up {len(manifest['files'])} file(s), {size} bytes, schema "
        f"{manifest['schema_version']} into {target}"
    )


def restore(settings: Settings, source: Path) -> str:
    if not settings.embedded:
        raise BackupError(EXTERNAL.replace("box.backup.start()", "a stopped instance's"))
    pid = serving_pid(settings.data_dir)
    if pid is not None:
        raise BackupError(f"a server is using {settings.data_dir} (pid {pid}): stop it first")
    known = [m.name for m in discover(settings.migrations_dir)]
    manifest = read_manifest(source, known)
    lock = DataFolderLock(settings.data_dir)  # no server may start on the folder meanwhile
    try:
        lock.acquire()
    except FolderInUse:
        raise BackupError(f"a server is using {settings.data_dir}: stop it first") from None
    try:
        restore_backup(source, manifest, settings.data_dir)
    finally:
        lock.release()
    return (
        f"restored {len(manifest['files'])} file(s) from {manifest['created_at']} into "
        f"{settings.data_dir}; start the server on it"
    )


async def run_backup_command(settings: Settings, args: argparse.Namespace) -> str:
    target = await asyncio.to_thread(Path(args.dir).resolve)
    if args.command == "backup":
        return await backup(settings, target)
    return await asyncio.to_thread(restore, settings, target)
