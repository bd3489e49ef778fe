"""The data folder's lock: one owner at a time, named in the refusal, gone with its holder."""

import os
from pathlib import Path

import pytest

from kv_api.infrastructure.data_folder import DataFolderLock, FolderInUse, owner


def test_one_owner_at_a_time_named_in_the_refusal(tmp_path: Path) -> None:
    first, second = DataFolderLock(tmp_path), DataFolderLock(tmp_path)
    first.acquire()
    assert owner(tmp_path) == os.getpid()
    with pytest.raises(FolderInUse, match=rf"in use by another kv-api \(pid {os.getpid()}\)"):
        second.acquire()
    first.release()
    assert owner(tmp_path) is None
    second.acquire()  # free once its holder let go
    second.release()


def test_a_folder_never_owned_has_no_owner(tmp_path: Path) -> None:
    assert owner(tmp_path / "new") is None
