"""bench/lua_cost.lua runs with the current migrations and Lua modules: a cost per function, the
steps of kv_write over the write floor, and the WAL bytes per pair."""

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_in_process_cost_script_runs() -> None:
    tarantool = shutil.which("tarantool")
    assert tarantool is not None
    done = subprocess.run(
        [tarantool, str(ROOT / "bench" / "lua_cost.lua"), "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    parts: list[list[str]] = []
    for line in done.stdout.splitlines():
        if line.startswith("-- "):
            parts.append([])
        elif line.strip():
            parts[-1].append(line)
    functions, steps, wal = parts
    assert len(functions) == 5
    assert all(re.search(r"\d+ us per call$", line) for line in functions), functions
    assert len(steps) == 7 and re.search(r"\d+ us per call$", steps[0]), steps
    assert all(
        re.search(r"us per call  \+ *-?\d+ us, +-?[\d.]+ us per pair$", s) for s in steps[1:]
    )
    assert len(wal) == 3
    assert all(float(line.split()[-2]) > 50 for line in wal), wal  # a pair is ~110 bytes
