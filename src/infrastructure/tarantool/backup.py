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

MANIFEST = "manifest.json"
FORMAT = 1
SECRET_FILES = ("jwt_secret",)  # tokens issued before the backup stay valid after a restore
STORE_SUFFIXES = (".snap", ".xlog", ".vylog")

# kv_backup_start (lua/ops.lua) checkpoints and pins the checkpoint's files until this.
_STOP = "box.backup.stop()"


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why and what to do."""


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


def write_backup(pinned: Pinned, data_dir: Path, target: Path) -> dict[str, Any]:
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new folder")
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
    try:
        manifest: dict[str, Any] = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source / MANIFEST}: missing or unreadable ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: unknown backup format {manifest.get('format')!r}")
    newer = set(manifest.get("migrations", [])) - set(known_migrations)
    if newer:
        raise BackupError(f"the backup has migrations this version lacks: {sorted(newer)}")
    for entry in [*manifest["files"], *manifest.get("secrets", [])]:
        path = source / entry["name"]
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
    for entry in manifest.get("secrets", []):
        if not (data_dir / entry["name"]).exists():
            _copy(source / entry["name"], data_dir / entry["name"])
