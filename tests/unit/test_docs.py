"""The docs say what the code does: every setting in the configuration table, the migrations
the README's `migrate --status` line counts, each document once in its reading list."""

import re
from pathlib import Path

from kv_api.infrastructure.settings import Settings
from kv_api.infrastructure.tarantool.migrations import discover

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
LOADER = (ROOT / "src" / "infrastructure" / "settings_loader.py").read_text()


def test_every_setting_the_server_reads_is_in_the_configuration_table() -> None:
    read = set(re.findall(r'"(KV_[A-Z0-9_]+)"', LOADER))
    documented = set(re.findall(r"^\| `(KV_[A-Z0-9_]+)` \|", CONFIGURATION, re.M))
    assert read - documented == set()
    assert documented - read == set()


def test_the_readme_counts_the_migrations_there_are() -> None:
    names = [m.name for m in discover(Settings().migrations_dir)]
    line = next(line for line in README.splitlines() if "migrate --status" in line)
    assert f"{names[0]}" in line and f"{names[-1]}" in line
    assert f": {len(names)} lines" in line


def test_the_reading_list_names_each_document_once() -> None:
    listed = re.findall(
        r"^\| \[(docs/[^\]]+)\]", README[README.index("## Further reading") :], re.M
    )
    assert len(listed) == len(set(listed)), listed
    assert all((ROOT / name).exists() for name in listed)
