"""Optional: sample the API with py-spy while a scenario runs (`--profile DIR`).

Each scenario gives DIR/<scenario>.folded (collapsed stacks, for flamegraph tools) and
DIR/<scenario>.top.txt (the functions with the most samples, inclusive and self).

Sampling costs CPU on a small machine, so figures from a profiled run are not the headline.
"""

import contextlib
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path


def _py_spy() -> str:
    path = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(path).exists():
        raise RuntimeError("py-spy is not installed: pip install -e '.[bench]'")
    return path


@contextlib.contextmanager
def recording(folder: Path | None, name: str, pid: int, seconds: float) -> Iterator[None]:
    if folder is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    argv = [
        _py_spy(),
        "record",
        f"--pid={pid}",
        "--subprocesses",
        "--rate=250",
        "--format=raw",
        f"--output={folder / (name + '.folded')}",
    ]
    spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield
    finally:
        spy.send_signal(2)  # SIGINT: py-spy writes its output and exits
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()
    folded = folder / (name + ".folded")
    if folded.exists():
        (folder / (name + ".top.txt")).write_text(summarize(folded))


def summarize(folded: Path, top: int = 40) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{total} samples", "", "inclusive:"]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    lines += ["", "self:"]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    return "\n".join(lines) + "\n"


def _frame(text: str) -> str:
    """`function (path/to/module.py:12)` -> `function (module.py)`; lines would split counts."""
    name, _, where = text.partition(" (")
    file = where.rsplit(":", 1)[0].rstrip(")")
    return f"{name} ({'/'.join(file.split('/')[-2:])})" if file else name
