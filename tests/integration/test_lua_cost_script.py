"""bench/lua_cost.lua runs with the current migrations and Lua modules: one cost per function."""

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_in_process_cost_script_runs() -> None:
    tarantool = shutil.which("tarantool")
    assert tarantool is not None
    done = subprocess.run(
        [tarantool, str(ROOT / "bench" / "lua_cost.lua")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 5
    assert all(re.search(r"\d+ us per call$", line) for line in lines), lines
