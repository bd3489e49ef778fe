"""A wheel installed into a fresh virtualenv migrates and serves with no extra variable: the
package carries its migrations, its Tarantool script and the console's files, and nothing is
read from a checkout."""

import os
import site
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kv_api.infrastructure.tarantool.functions import installed_modules
from kv_api.infrastructure.tarantool.managed import free_port
from tests.support.tarantool import TarantoolProcess

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_FILES = ROOT / "src" / "presentation" / "routes" / "console" / "files"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a new venv holding only the built wheel; third-party packages are reached
    through a plain path entry (not a site dir, so the checkout's editable hook stays off)."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"),
         str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = subprocess.run(
        [str(venv / "bin" / "python"), "-c", where],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(purelib) / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    wheel = next((work / "dist").glob("kv_api-*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
         "--no-deps", str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    return venv / "bin"


def _env(server: TarantoolProcess, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KV_", "PYTHON"))}
    return {
        **env,
        "KV_TARANTOOL_URI": f"{server.address.host}:{server.address.port}",
        "KV_TARANTOOL_USER": server.user,
        "KV_TARANTOOL_PASSWORD": server.password,
        "KV_DATA_DIR": str(data_dir),
        "KV_LOG_FORMAT": "text",
        **extra,
    }


def test_the_package_comes_from_the_wheel_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    found = subprocess.run(
        [str(installed / "python"), "-c", "import kv_api.migrations as m; print(m.__file__)"],
        cwd=tmp_path, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert str(installed.parent) in found and str(ROOT) not in found


def test_the_wheel_carries_the_lua_modules(installed: Path, tmp_path: Path) -> None:
    code = (
        "from kv_api.infrastructure.tarantool.functions import installed_modules as m; "
        "print(m().digest)"
    )
    found = subprocess.run(
        [str(installed / "python"), "-c", code],
        cwd=tmp_path, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert found.strip() == installed_modules().digest


def test_a_wheel_migrates_a_fresh_tarantool(installed: Path, tmp_path: Path) -> None:
    server = TarantoolProcess(tmp_path / "tarantool").start()
    try:
        env = _env(server, tmp_path / "data")
        migrate = [str(installed / "kv-api"), "migrate"]
        applied = subprocess.run(migrate, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert applied.returncode == 0, applied.stderr
        assert applied.stdout.startswith("applied ") and "001_users.lua" in applied.stdout
        status = subprocess.run(
            [*migrate, "--status"], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        lines = status.stdout.splitlines()
        assert status.returncode == 0 and lines and all(ln.startswith("applied") for ln in lines)
    finally:
        server.stop()


def test_a_wheel_serves(installed: Path, tmp_path: Path) -> None:
    server = TarantoolProcess(tmp_path / "tarantool").start()
    port = free_port()
    env = _env(server, tmp_path / "data", KV_PORT=str(port), KV_JWT_SECRET="w" * 40)
    api = subprocess.Popen(
        [str(installed / "kv-api"), "serve"], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert _ready(f"http://127.0.0.1:{port}/ready", deadline=time.monotonic() + 60)
        for name, path in [("index.html", "/console"), ("console.js", "/console/console.js")]:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
                assert answer.read() == (CONSOLE_FILES / name).read_bytes(), "the console ships"
    finally:
        api.terminate()
        api.wait(timeout=30)
        server.stop()


def _ready(url: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False
