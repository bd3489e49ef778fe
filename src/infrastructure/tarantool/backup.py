"""Consistent copies of the embedded store: a fresh checkpoint pinned by box.backup.start()
while its files are copied, a manifest with sizes and sha256, and a checked restore."""

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from kv_api.infrastructure.settings import StartupError

MANIFEST = "manifest.json"
FORMAT = 1
SECRET_FILES = ("jwt_secret",)  # tokens issued before the backup stay valid after a restore
STORE_SUFFIXES = (".snap", ".xlog", ".vylog")

# kv_backup_start (lua/ops.lua) checkpoints and pins the checkpoint's files until this.
_STOP = "box.backup.stop()"


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why and what to do."""


class InvalidBackup(StartupError):
    """The folder given is no backup this version can read, or names a path outside itself;
    the message is one line, and nothing has been written."""


def _plain_name(name: str) -> None:
    """A backup names files of its own folder only: no separator, no `..`, nothing absolute."""
    if name in ("", ".", "..") or any(c in name for c in "/\\\0"):
        raise ValidationError("must be a plain file name (no separator, no '..')")


class _FileEntry(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=_plain_name)
    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))


class _Manifest(Schema):
    class Meta:
        unknown = EXCLUDE

    format = fields.Integer(required=True, strict=True, validate=validate.Equal(FORMAT))
    created_at = fields.String(required=True)
    tarantool_version = fields.String(load_default=None)
    schema_version = fields.String(load_default=None, allow_none=True)
    migrations = fields.List(fields.String(), load_default=list)
    files = fields.List(fields.Nested(_FileEntry), required=True)
    secrets = fields.List(fields.Nested(_FileEntry), load_default=list)


def _checked(manifest: object, where: Path) -> dict[str, Any]:
    """The manifest as this version reads it, or InvalidBackup naming its problems."""
    try:
        loaded: dict[str, Any] = _Manifest().load(manifest)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"manifest": exc.messages}
        problems = "; ".join(f"{field}: {problem}" for field, problem in _flat(messages))
        raise InvalidBackup(f"{where}: {problems}") from None
    if not loaded["files"]:
        raise InvalidBackup(f"{where}: lists no store file")
    for entry in loaded["files"]:
        if not entry["name"].endswith(STORE_SUFFIXES):
            raise InvalidBackup(f"{where}: {entry['name']!r} is not a store file")
    for entry in loaded["secrets"]:
        if entry["name"] not in SECRET_FILES:
            raise InvalidBackup(f"{where}: {entry['name']!r} is not a secret a backup holds")
    return loaded


def _flat(messages: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = str(key) if key != "_schema" else "manifest"
            yield from _flat(value, f"{prefix}.{name}" if prefix else name)
    elif isinstance(messages, list):
        for item in messages:
            yield from _flat(item, prefix)
    else:
        yield prefix, str(messages)


class Connection(Protocol):
    async def call(self, function: str, args: list[Any]) -> Any: ...

    async def eval(self, code: str, args: list[Any]) -> Any: ...


@dataclass(frozen=True, slots=True)
class Pinned:
    files: list[Path]
    migrations: list[str]
    tarantool_version: str


async def pin_checkpoint(conn: Connection, work_dir: Path) -> Pinned:
    """A fresh checkpoint whose files stay until unpin_checkpoint, whatever else runs."""
    files, applied, version = await conn.call("kv_backup_start", [])
    paths = [Path(f) if os.path.isabs(f) else work_dir / f for f in files]
    return Pinned([p.resolve() for p in paths], sorted(map(str, applied)), str(version))


async def unpin_checkpoint(conn: Connection) -> None:
    await conn.eval(_STOP, [])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy(source: Path, target: Path) -> dict[str, Any]:
    shutil.copyfile(source, target)
    os.chmod(target, 0o600)
    return {"name": target.name, "size": target.stat().st_size, "sha256": _sha256(target)}


def check_target(target: Path) -> None:
    """Before any work: a backup goes into a new folder or an empty one."""
    if target.exists() and not target.is_dir():
        raise InvalidBackup(f"{target} is not a folder: back up into a new or empty folder")
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new folder")


def write_backup(pinned: Pinned, data_dir: Path, target: Path) -> dict[str, Any]:
    check_target(target)
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = [_copy(path, target / path.name) for path in pinned.files]
    secrets = [_copy(data_dir / n, target / n) for n in SECRET_FILES if (data_dir / n).exists()]
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tarantool_version": pinned.tarantool_version,
        "schema_version": pinned.migrations[-1] if pinned.migrations else None,
        "migrations": pinned.migrations,
        "files": store,
        "secrets": secrets,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def read_manifest(source: Path, known_migrations: Iterable[str]) -> dict[str, Any]:
    where = source / MANIFEST
    try:
        raw = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidBackup(f"{where}: missing or not a JSON manifest ({exc})") from None
    manifest = _checked(raw, where)
    newer = set(manifest["migrations"]) - set(known_migrations)
    if newer:
        raise BackupError(f"the backup has migrations this version lacks: {sorted(newer)}")
    for entry in [*manifest["files"], *manifest["secrets"]]:
        path = source / entry["name"]
        if path.is_symlink():
            raise InvalidBackup(f"{path} is a link: a backup holds plain files only")
        if not path.is_file() or path.stat().st_size != entry["size"]:
            raise BackupError(f"{path}: missing or not {entry['size']} bytes")
        if _sha256(path) != entry["sha256"]:
            raise BackupError(f"{path}: sha256 does not match the manifest")
    return manifest


def restore_backup(source: Path, manifest: dict[str, Any], data_dir: Path) -> None:
    work_dir = data_dir / "tarantool"
    if work_dir.exists() and any(p.suffix in STORE_SUFFIXES for p in work_dir.iterdir()):
        raise BackupError(
            f"{work_dir} already holds a store: restore into an empty data folder, "
            "or move that folder aside first"
        )
    work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=work_dir))
    try:  # copied aside first: an interrupted restore leaves no half store to start on
        for entry in manifest["files"]:
            _copy(source / entry["name"], staging / entry["name"])
        for entry in manifest["files"]:
            (staging / entry["name"]).replace(work_dir / entry["name"])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for entry in manifest["secrets"]:
        if not (data_dir / entry["name"]).exists():
            _copy(source / entry["name"], data_dir / entry["name"])
