"""`kv-api user create|delete|list` and `migrate --status` as real subprocesses."""

import asyncio
import os
import pty
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kv_api.application.ports import NewUser, Session, WriteOptions
from kv_api.domain.users import Profile
from kv_api.infrastructure.security.hasher import Argon2PasswordHasher
from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.infrastructure.tarantool.users import TarantoolUserRepository
from tests.conftest import unique_name
from tests.integration.conftest import tarantool_kv
from tests.support.server import CHEAP_ENV, kv_api_binary, tarantool_env
from tests.support.tarantool import TarantoolProcess

Env = dict[str, str]
PASSWORD = "operator-made-9"


@pytest.fixture
def cli_env(tarantool: TarantoolProcess, tmp_path: Path) -> Env:
    return {
        **os.environ,
        **CHEAP_ENV,
        **tarantool_env(tarantool),
        "KV_DATA_DIR": str(tmp_path / "data"),
        "KV_LOG_LEVEL": "WARNING",
    }


async def kv_api(env: Env, *args: str, stdin: str = "") -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        kv_api_binary(),
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _password_matches(client: TarantoolClient, name: str, password: str) -> bool:
    user = await TarantoolUserRepository(client).by_username(name.casefold())
    assert user is not None
    hasher = Argon2PasswordHasher(64, 1, 1, 1)
    try:
        return await hasher.verify(user.password_hash, password)
    finally:
        hasher.close()


async def _write_keys_as(client: TarantoolClient, name: str) -> int:
    user = await TarantoolUserRepository(client).by_username(name.casefold())
    assert user is not None
    session = Session(user.id, user.token_version, uuid.uuid4().hex, int(time.time()) + 600)
    repository = tarantool_kv(client)
    outcome = await repository.write(session, {"a": "a", "b": "b"}, WriteOptions())
    assert outcome.written == 2
    return user.id


@pytest.mark.slow
async def test_create_list_and_delete_a_user_with_their_keys(
    cli_env: Env, client: TarantoolClient
) -> None:
    name = unique_name("Op")
    code, out, err = await kv_api(cli_env, "user", "create", name, stdin=PASSWORD + "\n")
    assert (code, out.strip()) == (0, f"created user {name}"), err
    assert await _password_matches(client, name, PASSWORD)  # the newline is not part of it

    code, out, _ = await kv_api(cli_env, "user", "list")
    assert code == 0
    assert name in out.splitlines()

    owner = await _write_keys_as(client, name)
    code, out, err = await kv_api(cli_env, "user", "delete", name.upper())
    assert code == 0, err
    assert await TarantoolUserRepository(client).by_username(name.casefold()) is None
    assert await client.eval("return box.space.kv_data:count({...})", [owner]) == 0


@pytest.mark.slow
async def test_refusals_exit_with_1_and_say_why(cli_env: Env, client: TarantoolClient) -> None:
    taken, weak, unknown = unique_name(), unique_name(), unique_name()
    now = datetime.now(UTC)
    assert await TarantoolUserRepository(client).add(NewUser(taken, taken, "-", Profile(), now))

    runs = await asyncio.gather(
        kv_api(cli_env, "user", "create", taken, stdin=PASSWORD + "\n"),
        kv_api(cli_env, "user", "create", weak, stdin="short\n"),
        kv_api(cli_env, "user", "create", unique_name(), stdin=""),
        kv_api(cli_env, "user", "delete", unknown),
        kv_api(cli_env, "user", "set-password", unknown, stdin="short\n"),
    )

    expected = ["already exists", "password: must be 8-128", "no password", "no user named"]
    expected.append(f"no user named {unknown}")
    for (code, out, err), message in zip(runs, expected, strict=True):
        assert code == 1, (out, err)
        assert message in err
        assert "Traceback" not in err
    assert await TarantoolUserRepository(client).by_username(weak.casefold()) is None


async def test_configuration_errors_exit_with_2(cli_env: Env, tmp_path: Path) -> None:
    code, _, err = await kv_api({**cli_env, "KV_TARANTOOL_URI": "no-port"}, "user", "list")
    assert code == 2
    assert "KV_TARANTOOL_URI" in err
    assert "Traceback" not in err


async def test_embedded_mode_refuses_while_a_server_uses_the_data_folder(
    cli_env: Env, tmp_path: Path
) -> None:
    data_dir = tmp_path / "served"
    work_dir = data_dir / "tarantool"
    work_dir.mkdir(parents=True)
    # plays the tarantool of a running server: a live process working in that folder
    stand_in = await asyncio.create_subprocess_exec("sleep", "60", cwd=work_dir)
    try:
        (work_dir / "tarantool.pid").write_text(str(stand_in.pid))
        env = {k: v for k, v in cli_env.items() if not k.startswith("KV_TARANTOOL_")}
        code, _, err = await kv_api({**env, "KV_DATA_DIR": str(data_dir)}, "user", "list")
    finally:
        stand_in.kill()
        await stand_in.wait()
    assert code == 2
    assert "stop it first" in err


async def test_migrate_status_lists_applied_migrations(
    cli_env: Env, client: TarantoolClient
) -> None:
    code, out, err = await kv_api(cli_env, "migrate", "--status")
    assert code == 0, err
    assert "applied  001_users.lua" in out.splitlines()


# --- the interactive prompt: a pseudo-terminal that is the command's controlling terminal

_AS_TTY = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def _read_until(fd: int, marker: bytes, deadline: float) -> bytes:
    seen = b""
    while marker not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {marker!r} in {seen!r}"
        if select.select([fd], [], [], remaining)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the command closed the terminal
                chunk = b""
            if not chunk:
                return seen
            seen += chunk
    return seen


@pytest.fixture
def on_terminal(cli_env: Env) -> Iterator[Callable[[str, list[str]], tuple[int, str]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def run(name: str, answers: list[str]) -> tuple[int, str]:
        master, slave = pty.openpty()
        command = [kv_api_binary(), "user", "create", name]
        proc = subprocess.Popen(
            [sys.executable, "-c", _AS_TTY, *command],
            stdin=slave, stdout=slave, stderr=slave, env=cli_env, start_new_session=True,
        )  # fmt: skip
        procs.append(proc)
        os.close(slave)
        deadline = time.monotonic() + 60
        transcript = b""
        for prompt, answer in zip([b"Password: ", b"Repeat password: "], answers, strict=True):
            transcript += _read_until(master, prompt, deadline)
            os.write(master, answer.encode() + b"\n")
        transcript += _read_until(master, b"\0never", deadline)
        os.close(master)
        return proc.wait(timeout=30), transcript.decode(errors="replace")

    yield run
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_password_prompt_on_a_terminal_asks_twice(
    on_terminal: Callable[[str, list[str]], tuple[int, str]],
) -> None:
    name = unique_name()
    code, transcript = on_terminal(name, [PASSWORD, PASSWORD + "x"])
    assert code == 1
    assert "do not match" in transcript

    code, transcript = on_terminal(name, [PASSWORD, PASSWORD])
    assert code == 0, transcript
    assert f"created user {name}" in transcript
    assert PASSWORD not in transcript  # not echoed
