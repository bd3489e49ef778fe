"""`kv-api user create|delete|list|set-password|quota`: account management through the use
cases."""

import argparse
import asyncio
import getpass
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

from dependency_injector import providers

from kv_api.application.users.ensure_user import EnsureUser
from kv_api.application.users.manage import ListUsers, RemoveUser
from kv_api.application.users.quota import SetQuota, ShowQuota, UserQuota
from kv_api.application.users.reset_password import ResetPassword
from kv_api.domain.errors import InvalidField
from kv_api.domain.quotas import Own, OwnLimit
from kv_api.infrastructure.settings import Settings
from kv_api.infrastructure.tarantool.migrations import MigrationRunner
from kv_api.infrastructure.tarantool.storage import Storage
from kv_api.presentation.container import Container


class AdminError(Exception):
    """The command cannot do what was asked (exit code 1); the message says why."""


def read_new_password(stdin: TextIO) -> str:
    """Twice from a hidden prompt on a terminal, else the first line of stdin; never argv."""
    try:
        if stdin.isatty():
            first = getpass.getpass("Password: ")
            if getpass.getpass("Repeat password: ") != first:
                raise AdminError("the passwords do not match")
            return first
        password = stdin.readline().rstrip("\r\n")
    except (EOFError, KeyboardInterrupt):
        raise AdminError("cancelled: no password given") from None
    if not password:
        raise AdminError("no password given on stdin")
    return password


@asynccontextmanager
async def _container(settings: Settings, storage: Storage) -> AsyncIterator[Container]:
    container = Container(settings=settings)
    container.storage.override(providers.Object(storage))
    try:
        yield container
    finally:
        result = container.shutdown_resources()
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            await result


async def _create(container: Container, name: str, password: str) -> str:
    try:
        created = await container.ensure_user()(EnsureUser(name, password))
    except InvalidField as exc:
        raise AdminError(_problems(exc)) from None
    if not created:
        raise AdminError(f"user {name} already exists")
    return f"created user {name}"


def _problems(exc: InvalidField) -> str:
    return "; ".join(f"{field}: {', '.join(found)}" for field, found in exc.fields.items())


async def _set_password(container: Container, name: str, password: str) -> str:
    try:
        changed = await container.reset_password()(ResetPassword(name, password))
    except InvalidField as exc:
        raise AdminError(_problems(exc)) from None
    if not changed:
        raise AdminError(f"no user named {name}")
    return f"password of {name} set; every earlier token of theirs is revoked"


async def _delete(container: Container, name: str) -> str:
    if not await container.remove_user()(RemoveUser(name)):
        raise AdminError(f"no user named {name}")
    # a server purges a deleted account's data in the background; the operator's command
    # waits for it, so that what it says is true when it returns
    users, batch = container.users(), container.settings().account_purge_batch
    while await users.purge_deleted(batch):
        pass
    return f"deleted user {name} with all their keys and tokens"


async def _list(container: Container, limit: int) -> str:
    return "\n".join(await container.list_users()(ListUsers(limit)))


def _limit(used: int, own: OwnLimit, limit: int | None) -> str:
    whose = "default" if own is Own.DEFAULT else "own"
    return f"{used} of {'none' if limit is None else limit} ({whose})"


def quota_line(found: UserQuota) -> str:
    """One line: each figure with the limit that applies, and whether it is the user's own."""
    quota = found.quota
    keys = _limit(quota.usage.keys, quota.own.keys, quota.limits.keys)
    size = _limit(quota.usage.bytes, quota.own.bytes, quota.limits.bytes)
    return f"{found.username}: keys {keys}, bytes {size}"


async def _quota(container: Container, args: argparse.Namespace) -> str:
    if args.keys is None and args.bytes is None:
        found = await container.show_quota()(ShowQuota(args.name))
    else:
        found = await container.set_quota()(SetQuota(args.name, args.keys, args.bytes))
    if found is None:
        raise AdminError(f"no user named {args.name}")
    return quota_line(found)


async def run_user_command(
    settings: Settings, storage: Storage, args: argparse.Namespace, password: str
) -> str:
    """Runs one `user` subcommand and returns what to print; AdminError when it cannot."""
    await MigrationRunner(storage.primary, settings.migrations_dir).apply()
    await storage.define_functions()
    async with _container(settings, storage) as container:
        if args.user_command == "create":
            return await _create(container, args.name, password)
        if args.user_command == "set-password":
            return await _set_password(container, args.name, password)
        if args.user_command == "delete":
            return await _delete(container, args.name)
        if args.user_command == "quota":
            return await _quota(container, args)
        return await _list(container, args.limit)
