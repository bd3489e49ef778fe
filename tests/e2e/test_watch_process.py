"""The change feed in real server processes: across `--workers`, and on SIGTERM."""

import asyncio
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kv_api.infrastructure.tarantool.client import TarantoolClient
from tests.conftest import unique_name
from tests.e2e.watch_helpers import EventReader, until_parked
from tests.support.server import ApiProcess, tarantool_env
from tests.support.tarantool import TarantoolProcess

# Slow: starts whole server processes.
pytestmark = pytest.mark.slow
WATCHERS = 8  # each on its own connection: with 2 workers, both almost surely hold some


async def _token(http: aiohttp.ClientSession, base: str) -> dict[str, str]:
    async with http.post(
        base + "/api/register", json={"username": unique_name(), "password": "correct-horse-9"}
    ) as resp:
        assert resp.status == 200, await resp.text()
        return {"Authorization": f"Bearer {(await resp.json())['token']}"}


async def _poll(base: str, auth: dict[str, str], **params: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http:  # a new connection each time
        query = {k: str(v) for k, v in params.items()}
        async with http.get(base + "/api/watch", params=query, headers=auth) as resp:
            return resp.status, await resp.json()


async def test_a_write_through_one_worker_wakes_watchers_on_every_worker(
    tarantool: TarantoolProcess, store: TarantoolClient, tmp_path: Path
) -> None:
    env = {**tarantool_env(tarantool), "KV_ACCESS_LOG": "false"}
    api = await asyncio.to_thread(ApiProcess(tmp_path / "data", env, ("--workers", "2")).start)
    try:
        async with aiohttp.ClientSession() as http:
            auth = await _token(http, api.base)
            status, now = await _poll(api.base, auth, timeout=0)
            assert status == 200
            watchers = [
                asyncio.create_task(_poll(api.base, auth, since=now["revision"], timeout=30))
                for _ in range(WATCHERS)
            ]
            await until_parked(store, auth, WATCHERS)
            async with http.post(
                api.base + "/api/write", json={"data": {"k": 1}}, headers=auth
            ) as r:
                revision = (await r.json())["revision"]
            answers = await asyncio.wait_for(asyncio.gather(*watchers), 30)
        for status, body in answers:
            assert status == 200
            assert body["changes"] == [
                {"key": "k", "op": "put", "version": 1, "revision": revision}
            ]
        assert _worker_limits(api) == ["100", "100"]  # the default 200, shared
    finally:
        assert await asyncio.to_thread(api.stop) == 0


def _worker_limits(api: ApiProcess) -> list[str]:
    assert api.process is not None
    pid = api.process.pid
    limits = []
    for worker in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        environ = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
        limits += [
            v.split(b"=", 1)[1].decode() for v in environ if v.startswith(b"KV_MAX_WATCHES=")
        ]
    return limits


async def test_sigterm_ends_open_watches_without_waiting_their_timeout(
    tarantool: TarantoolProcess, store: TarantoolClient, tmp_path: Path
) -> None:
    env = {
        **tarantool_env(tarantool),
        "KV_SHUTDOWN_TIMEOUT": "120",  # a drain waiting for the watches would take 120 s
        "KV_WATCH_MAX_TIMEOUT": "120",
        "KV_WATCH_HEARTBEAT": "120",
    }
    api = await asyncio.to_thread(ApiProcess(tmp_path / "data", env).start)
    assert api.process is not None
    try:
        async with aiohttp.ClientSession() as http:
            auth = await _token(http, api.base)
            poll = asyncio.create_task(_poll(api.base, auth, timeout=120))
            stream_resp = await http.get(
                api.base + "/api/watch", headers={**auth, "Accept": "text/event-stream"}
            )
            assert stream_resp.status == 200
            await until_parked(store, auth, 2)  # the poll and the stream's next call
            api.process.send_signal(signal.SIGTERM)
            end = await asyncio.wait_for(EventReader(stream_resp).next(), 60)
            status, body = await asyncio.wait_for(poll, 60)
            code = await asyncio.to_thread(api.process.wait, 60)
    finally:
        await asyncio.to_thread(api.stop, signal.SIGKILL)
    assert end is not None and (end["event"], end["data"]) == (
        "end",
        {"reason": "shutting_down"},
    )
    assert (status, body["error"]["code"]) == (503, "shutting_down")
    assert code == 0


async def test_the_edge_timeouts_cut_neither_a_long_poll_nor_a_stream(
    tarantool: TarantoolProcess, tmp_path: Path
) -> None:
    short = {"KV_HEADER_TIMEOUT": "0.5", "KV_BODY_TIMEOUT": "0.5", "KV_KEEPALIVE_TIMEOUT": "0.5"}
    env = {**tarantool_env(tarantool), **short, "KV_WATCH_HEARTBEAT": "0.3"}
    api = await asyncio.to_thread(ApiProcess(tmp_path / "data", env).start)
    try:
        async with aiohttp.ClientSession() as http:
            auth = await _token(http, api.base)
            status, now = await _poll(api.base, auth, timeout=0)
            status, body = await _poll(api.base, auth, since=now["revision"], timeout=2)
            assert (status, body) == (200, {"changes": [], "revision": now["revision"]})
            headers = {**auth, "Accept": "text/event-stream"}
            async with http.get(api.base + "/api/watch", headers=headers) as stream:
                heartbeats = 0
                while heartbeats < 6:  # about 2 s, four times the edge timeouts
                    line = await asyncio.wait_for(stream.content.readline(), 10)
                    assert line, "the stream was cut"
                    heartbeats += line.startswith(b":")  # a comment: the heartbeat
    finally:
        assert await asyncio.to_thread(api.stop) == 0


async def test_shutdown_ends_a_stream_that_is_not_read_at_once(
    tarantool: TarantoolProcess, tmp_path: Path
) -> None:
    """A client that stops reading must not hold a graceful shutdown for its whole timeout."""
    import socket
    import time

    env = {**tarantool_env(tarantool)}
    api = await asyncio.to_thread(ApiProcess(tmp_path / "data", env).start)
    reader = socket.socket()
    try:
        async with aiohttp.ClientSession() as http:
            auth = await _token(http, api.base)
            big = {f"v{i}": "x" * 900_000 for i in range(8)}
            for key, value in big.items():
                async with http.post(
                    api.base + "/api/write", json={"data": {key: value}}, headers=auth
                ) as resp:
                    assert resp.status == 200
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.connect(("127.0.0.1", api.port))
        request = (
            "GET /api/watch?since=0&values=true HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: {auth['Authorization']}\r\nAccept: text/event-stream\r\n\r\n"
        )
        reader.sendall(request.encode())
        await asyncio.sleep(1.0)  # the stream is open and its writes are stuck
        assert api.process is not None
        started = time.monotonic()
        api.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(api.process.wait, 30)
        took = time.monotonic() - started
    finally:
        reader.close()
        await asyncio.to_thread(api.stop, signal.SIGKILL)
    assert code == 0
    assert took < 5.0, f"shutdown waited {took:.1f}s on a stream nobody reads"


async def test_one_user_cannot_take_every_watch_slot(
    tarantool: TarantoolProcess, tmp_path: Path
) -> None:
    env = {**tarantool_env(tarantool), "KV_MAX_WATCHES": "6", "KV_USER_MAX_WATCHES": "3"}
    api = await asyncio.to_thread(ApiProcess(tmp_path / "data", env).start)
    try:
        async with aiohttp.ClientSession() as http:
            hog, other = await _token(http, api.base), await _token(http, api.base)
            held = [
                asyncio.create_task(_poll(api.base, hog, since=0, timeout=20)) for _ in range(3)
            ]
            await asyncio.sleep(0.5)
            status, body = await _poll(api.base, hog, since=0, timeout=0)
            assert (status, body["error"]["code"]) == (429, "too_many_watches")
            assert "this user" in body["error"]["message"]
            assert (await _poll(api.base, other, since=0, timeout=0))[0] == 200
            for task in held:
                task.cancel()
            await asyncio.gather(*held, return_exceptions=True)
    finally:
        await asyncio.to_thread(api.stop)


async def test_a_long_poll_whose_client_left_frees_its_slot_within_a_second(
    tarantool: TarantoolProcess, tmp_path: Path
) -> None:
    env = {**tarantool_env(tarantool), "KV_MAX_WATCHES": "4", "KV_USER_MAX_WATCHES": "4"}
    api = await asyncio.to_thread(ApiProcess(tmp_path / "data", env).start)
    try:
        async with aiohttp.ClientSession() as http:
            leaver, other = await _token(http, api.base), await _token(http, api.base)
        leaving = [
            asyncio.create_task(_poll(api.base, leaver, since=0, timeout=60)) for _ in range(4)
        ]
        await asyncio.sleep(0.5)
        status, _ = await _poll(api.base, other, since=0, timeout=0)
        assert status == 429  # every slot is taken
        for task in leaving:
            task.cancel()  # the clients close their connections
        await asyncio.gather(*leaving, return_exceptions=True)
        await asyncio.sleep(1.5)
        status, body = await _poll(api.base, other, since=0, timeout=0)
        assert status == 200, body
    finally:
        await asyncio.to_thread(api.stop)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def test_streams_nobody_reads_are_closed_and_hold_bounded_memory(
    tarantool: TarantoolProcess, tmp_path: Path
) -> None:
    import socket

    env = {
        **tarantool_env(tarantool),
        "KV_WATCH_SEND_TIMEOUT": "1",
        "KV_WATCH_MAX_BYTES": str(1024 * 1024),
        "KV_MAX_VALUE_BYTES": str(128 * 1024),
        "KV_MAX_WATCHES": "10",
        "KV_USER_MAX_WATCHES": "10",
    }
    api = await asyncio.to_thread(ApiProcess(tmp_path / "data", env).start)
    readers: list[socket.socket] = []
    try:
        assert api.process is not None
        async with aiohttp.ClientSession() as http:
            auth = await _token(http, api.base)
            for i in range(9):
                body = {"data": {f"v{i}": "x" * 100_000}}
                async with http.post(api.base + "/api/write", json=body, headers=auth) as resp:
                    assert resp.status == 200
        before = _rss_mb(api.process.pid)
        request = (
            "GET /api/watch?since=0&values=true&limit=1000 HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: {auth['Authorization']}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        for _ in range(10):
            reader = socket.socket()
            reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            reader.connect(("127.0.0.1", api.port))
            reader.sendall(request)
            readers.append(reader)
        await asyncio.sleep(0.5)
        during = _rss_mb(api.process.pid)
        assert (await _poll(api.base, auth, since=0, timeout=0))[0] == 429  # all slots held
        await asyncio.sleep(3.0)  # past the send timeout: the streams are closed
        status, _ = await _poll(api.base, auth, since=0, timeout=0)
        assert status == 200, "the unread streams still hold their slots"
        after = _rss_mb(api.process.pid)
    finally:
        for reader in readers:
            reader.close()
        await asyncio.to_thread(api.stop)
    assert during - before < 60, (before, during)  # ten streams of a 1 MiB bound
    assert after - before < 30, (before, during, after)
