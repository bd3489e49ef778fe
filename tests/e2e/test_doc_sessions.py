"""The curl sessions of the README and docs/api.md, pasted into bash against a live server: every
`show` answers the status its comment gives, and the body too where the comment spells it out
(no `...`)."""

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ApiProcess

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED_BASE = "http://127.0.0.1:8080"
SESSIONS = [
    ("README.md", "## A session with curl"),
    ("docs/api.md", "### Expiry, versions and conditional writes"),
    ("docs/api.md", "### GET /api/watch"),
]
STATUS = re.compile(r"^(.*?)\s*\[(\d{3})\]$")


def session_script(path: str, heading: str) -> str:
    """The first ```sh block after `heading`."""
    text = (ROOT / path).read_text()
    after = text[text.index(heading) :]
    start = after.index("```sh\n") + len("```sh\n")
    return after[start : after.index("```", start)]


def documented_answers(script: str) -> list[tuple[str, int]]:
    """(body, status) that the comments give for each `show`, in order."""
    answers: list[tuple[str, int]] = []
    pending: list[str] | None = None
    for line in script.splitlines():
        command, _, comment = line.partition("# ") if not line.startswith("#") else ("", "", line)
        if command.strip().startswith("show "):
            pending = []
        if pending is None or not comment:
            continue
        pending.append(comment.lstrip("#").strip())
        found = STATUS.match("".join(pending))
        if found:
            answers.append((found.group(1), int(found.group(2))))
            pending = None
    return answers


def documented_stream(script: str) -> list[str]:
    """The lines a documented event stream (`curl -sN ...`) prints, from the comments below it."""
    lines = script.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("curl -sN")]
    if not starts:
        return []
    shown = []
    for line in lines[starts[0] + 1 :]:
        if not line.startswith("#"):
            break
        shown.append(line[2:] if line.startswith("# ") else "")
    return [line for line in shown if line]


def same_body(documented: str, actual: str) -> bool:
    if not documented or "..." in documented:
        return True
    return bool(json.loads(documented) == json.loads(actual))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    api = ApiProcess(tmp_path_factory.mktemp("sessions") / "data")
    try:
        yield api.start()
    finally:
        api.stop()


@pytest.mark.parametrize(("path", "heading"), SESSIONS)
def test_a_documented_session_answers_as_documented(
    server: ApiProcess, path: str, heading: str
) -> None:
    # A failure, not a skip: without curl this test would check nothing and still pass.
    assert shutil.which("curl"), "the sessions use curl, which `make test` installs"
    script = session_script(path, heading)
    expected = documented_answers(script)
    assert len(expected) == script.count("\nshow ") + script.startswith("show ")
    for _ in range(2):  # each session cleans up after itself, so it can be pasted again
        run = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script.replace(DOCUMENTED_BASE, server.base)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        matches = [STATUS.match(line) for line in run.stdout.splitlines()]
        actual = [(m.group(1), int(m.group(2))) for m in matches if m]
        assert [status for _, status in actual] == [status for _, status in expected]
        for (documented, _), (body, _) in zip(expected, actual, strict=True):
            assert same_body(documented, body), (documented, body)
        stream = documented_stream(script)
        if stream:  # what the stream printed, after the last answer of a `show`
            printed = [line for line in run.stdout.splitlines() if line and not STATUS.match(line)]
            assert printed[-len(stream) :] == stream, run.stdout
