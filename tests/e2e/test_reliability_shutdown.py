"""SIGTERM: stop accepting, finish in-flight requests, checkpoint, stop Tarantool, exit 0."""

import asyncio
import json
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.server import ApiProcess, pid_alive

# Slow: signals whole server processes and waits for them to stop.
pytestmark = pytest.mark.slow

PAIRS = 10_000


def _socket(local_port: int, remote_port: int) -> list[str] | None:
    """The /proc/net/tcp line of one loopback socket, split into its fields."""
    local, remote = f"0100007F:{local_port:04X}", f"0100007F:{remote_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            return fields
    return None


def _queues(local_port: int, remote_port: int) -> tuple[int, int] | None:
    """(unsent, unread) bytes of one loopback socket."""
    fields = _socket(local_port, remote_port)
    if fields is None:
        return None
    unsent, unread = fields[4].split(":")
    return int(unsent, 16), int(unread, 16)


def _server_closed(server_port: int, client_port: int) -> bool:
    """The server has closed its side of a connection: its socket is gone or past
    ESTABLISHED (01) and CLOSE_WAIT (08), the states in which it still has it open."""
    fields = _socket(server_port, client_port)
    return fields is None or fields[3] not in {"01", "08"}


def _server_read_everything(server_port: int, client_port: int) -> bool:
    """Everything the client sent has reached the server's socket and the server read it."""
    client_side, server_side = _queues(client_port, server_port), _queues(server_port, client_port)
    return client_side == server_side == (0, 0)


async def _until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.01)


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


class PartialRequest:
    """An HTTP request whose body is sent in two parts, so it is surely in flight between."""

    def __init__(self, port: int, path: str, token: str, body: bytes) -> None:
        self._port, self._path, self._token, self._body = port, path, token, body

    async def send_head(self, first_part: int) -> int:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self._port)
        head = (
            f"POST {self._path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Authorization: Bearer {self._token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(self._body)}\r\n\r\n"
        ).encode()
        self._writer.write(head + self._body[:first_part])
        await self._writer.drain()
        self._sent = first_part
        return int(self._writer.get_extra_info("sockname")[1])

    async def finish(self) -> tuple[int, bytes]:
        self._writer.write(self._body[self._sent :])
        await self._writer.drain()
        raw = await asyncio.wait_for(self._reader.read(), 60)
        self._writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        return int(head.split()[1]), body

    async def close(self) -> bytes:
        raw = await asyncio.wait_for(self._reader.read(), 60)
        self._writer.close()
        return raw


async def _start_in_flight(api: ApiProcess, token: str, body: bytes) -> PartialRequest:
    request = PartialRequest(api.port, "/api/write", token, body)
    client_port = await request.send_head(first_part=1024)
    await _until(lambda: _server_read_everything(api.port, client_port), "the server read it")
    return request


def _login(api: ApiProcess) -> str:
    status, body = api.request("POST", "/api/login", {"username": "admin", "password": "presale"})
    assert status == 200, body
    token: str = body["token"]
    return token


def _batch() -> bytes:
    return json.dumps({"data": {f"k{i:05d}": {"i": i} for i in range(PAIRS)}}).encode()


async def test_sigterm_finishes_an_in_flight_batch_then_checkpoints_and_exits_0(
    tmp_path: Path,
) -> None:
    data_dir, env = tmp_path / "var", {"KV_BOOTSTRAP_USER": "admin:presale"}
    api = await asyncio.to_thread(ApiProcess(data_dir, env=env).start)
    assert api.process is not None
    tt_dir = data_dir / "tarantool"
    tarantool_pid = int((tt_dir / "tarantool.pid").read_text())
    snapshots = set(tt_dir.glob("*.snap"))
    try:
        request = await _start_in_flight(api, _login(api), _batch())
        api.process.send_signal(signal.SIGTERM)
        await _until(lambda: _refuses_connections(api.port), "the listener closed")
        status, body = await request.finish()
        code = await asyncio.to_thread(api.process.wait, 60)
    finally:
        await asyncio.to_thread(api.stop, signal.SIGKILL)
    assert (status, json.loads(body)["written"]) == (200, PAIRS)
    assert code == 0
    assert not pid_alive(tarantool_pid), "the managed tarantool outlived kv-api"
    assert set(tt_dir.glob("*.snap")) - snapshots, "no checkpoint was written on shutdown"
    assert "checkpoint before shutdown failed" not in api.log()

    again = await asyncio.to_thread(ApiProcess(data_dir, env=env).start)
    try:
        keys = [f"k{i:05d}" for i in range(PAIRS)]
        status, found = again.request("POST", "/api/read", {"keys": keys}, _login(again))
    finally:
        await asyncio.to_thread(again.stop)
    assert status == 200
    assert found["not_found"] == []
    assert found["data"] == {k: {"i": i} for i, k in enumerate(keys)}


async def test_shutdown_waits_no_longer_than_kv_shutdown_timeout_for_a_stalled_request(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"
    env = {"KV_BOOTSTRAP_USER": "admin:presale", "KV_SHUTDOWN_TIMEOUT": "1"}
    api = await asyncio.to_thread(ApiProcess(data_dir, env=env).start)
    assert api.process is not None
    tarantool_pid = int((data_dir / "tarantool" / "tarantool.pid").read_text())
    try:
        stalled = await _start_in_flight(api, _login(api), _batch())
        api.process.send_signal(signal.SIGTERM)
        # the default timeout is 15 s: exiting well before proves the setting bounds the wait
        code = await asyncio.to_thread(api.process.wait, 12)
        await stalled.close()
    finally:
        await asyncio.to_thread(api.stop, signal.SIGKILL)
    assert code == 0
    assert not pid_alive(tarantool_pid), "the managed tarantool outlived kv-api"


async def test_sigterm_while_a_refused_body_lingers_leaves_no_task_behind(tmp_path: Path) -> None:
    """A 413 for a declared body over the limit leaves aiohttp reading and dropping the body
    for a while (closing at once could reset the connection and lose the answer); a SIGTERM
    then must still end that connection's task, not leave it to be destroyed pending."""
    api = await asyncio.to_thread(ApiProcess(tmp_path / "var").start)
    assert api.process is not None
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
        writer.write(b"POST /api/write HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n")
        await writer.drain()
        assert (await reader.readline()).startswith(b"HTTP/1.1 413")
        client_port = writer.get_extra_info("sockname")[1]
        writer.close()  # as curl does once it has the answer
        await _until(lambda: _server_closed(api.port, client_port), "the server saw it leave")
        api.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(api.process.wait, 30)
    finally:
        await asyncio.to_thread(api.stop, signal.SIGKILL)
    assert code == 0
    assert "Task was destroyed" not in api.log()
