"""CPU time of a process tree from /proc: cost per request is robust on a busy machine."""

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _own_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def tree_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and its live descendants."""
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        total += _own_seconds(current)
        stack += _children(current)
    return total
