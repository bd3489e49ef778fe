"""A careless or hostile backup folder, and bad CLI arguments: one line saying what is wrong,
exit 2, never a traceback, and nothing written outside the data folder."""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_backup_restore import cli

pytestmark = pytest.mark.slow


def _entry(folder: Path, name: str, content: bytes) -> dict[str, Any]:
    return {"name": name, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}


def _manifest(folder: Path, files: Any, **extra: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    body = {"format": 1, "created_at": "2026-12-01T00:00:00+00:00", "files": files, **extra}
    (folder / "manifest.json").write_text(json.dumps(body))


def _refused(run: tuple[int, str, str], says: str) -> None:
    code, out, err = run
    assert code == 2, (out, err)
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert says in lines[0], err


@pytest.mark.parametrize(
    "name",
    ["../../../../../tmp/{victim}", "/tmp/{victim}", "sub/{victim}", "..", ".", "", "a\\b"],
)
def test_a_manifest_naming_a_path_is_refused_and_writes_nothing(tmp_path: Path, name: str) -> None:
    victim = f"kv-victim-{tmp_path.name}"
    backup, data = tmp_path / "backup", tmp_path / "data"
    content = b"not a store"
    path = name.format(victim=victim)
    _manifest(backup, [{**_entry(backup, path, content), "name": path}])
    (backup / Path(path).name).parent.mkdir(parents=True, exist_ok=True)
    if Path(path).name not in ("", ".", ".."):
        (backup / Path(path).name).write_bytes(content)
    _refused(cli(data, "restore", str(backup)), "plain file name")
    assert not Path("/tmp", victim).exists()
    assert not (data / "tarantool").exists()


def test_a_linked_file_in_the_backup_is_refused(tmp_path: Path) -> None:
    backup, data = tmp_path / "backup", tmp_path / "data"
    outside = tmp_path / "secret"
    outside.write_bytes(b"secret")
    _manifest(backup, [_entry(backup, "00000000000000000000.snap", b"secret")])
    (backup / "00000000000000000000.snap").symlink_to(outside)
    _refused(cli(data, "restore", str(backup)), "link")
    assert not (data / "tarantool").exists()


@pytest.mark.parametrize(
    ("manifest", "says"),
    [
        ([], "manifest"),
        ({"format": 1}, "files"),
        ({"format": 1, "created_at": "x", "files": "abc"}, "files"),
        ({"format": 1, "created_at": "x", "files": [{"name": "a.snap", "sha256": "0"}]}, "size"),
        ({"format": 1, "files": []}, "created_at"),
        ({"format": 1, "created_at": "x", "files": []}, "no store file"),
        ("not json", "manifest"),
    ],
    ids=repr,
)
def test_a_malformed_manifest_is_one_line_and_writes_nothing(
    tmp_path: Path, manifest: Any, says: str
) -> None:
    backup, data = tmp_path / "backup", tmp_path / "data"
    backup.mkdir()
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    (backup / "manifest.json").write_text(text)
    _refused(cli(data, "restore", str(backup)), says)
    assert not (data / "tarantool").exists()


def test_a_backup_into_an_existing_file_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("keep me")
    _refused(cli(tmp_path / "data", "backup", str(target)), "not a folder")
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("limit", ["99999999999999999999999", "0", "-1", "many"])
def test_a_user_list_limit_out_of_bounds_is_one_line(tmp_path: Path, limit: str) -> None:
    _refused(cli(tmp_path / "data", "user", "list", "--limit", limit), "--limit")
