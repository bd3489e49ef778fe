"""Slow or idle clients cannot hold connections: header, body and idle timeouts and a cap on
open connections, each a setting (tight ones here so the tests stay short)."""

import contextlib
import socket
from collections.abc import Iterator

import pytest

from tests.support.raw_http import (
    assert_hardened,
    closed_by_server,
    connect,
    exchange,
    read_response,
)
from tests.support.server import ApiProcess, tarantool_env
from tests.support.tarantool import TarantoolProcess

CAP = 20
WAIT = 15.0  # far beyond every timeout below: a connection still open then is never closed


@pytest.fixture(scope="module")
def server(
    tarantool: TarantoolProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiProcess]:
    env = {
        **tarantool_env(tarantool),
        "KV_HEADER_TIMEOUT": "1",
        "KV_BODY_TIMEOUT": "1",
        "KV_KEEPALIVE_TIMEOUT": "2",
        "KV_MAX_CONNECTIONS": str(CAP),
    }
    api = ApiProcess(tmp_path_factory.mktemp("slow") / "data", env)
    try:
        yield api.start()
    finally:
        api.stop()


def test_a_connection_that_sends_nothing_is_closed(server: ApiProcess) -> None:
    with connect(server.port, timeout=WAIT) as sock:
        assert closed_by_server(sock)


def test_headers_that_never_finish_get_a_408(server: ApiProcess) -> None:
    with connect(server.port, timeout=WAIT) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        answer = read_response(sock)
        assert answer is not None and answer.status == 408
        assert answer.json()["error"]["code"] == "request_timeout"
        assert_hardened(answer)
        assert closed_by_server(sock)


def test_a_body_that_never_finishes_gets_a_408(server: ApiProcess) -> None:
    with connect(server.port, timeout=WAIT) as sock:
        sock.sendall(b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        answer = read_response(sock)
        assert answer is not None and answer.status == 408
        assert_hardened(answer)
        assert closed_by_server(sock)


def test_an_idle_kept_alive_connection_is_closed(server: ApiProcess) -> None:
    with connect(server.port, timeout=WAIT) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = read_response(sock)
        assert answer is not None and answer.status == 200
        assert closed_by_server(sock)


def test_connections_past_the_cap_get_a_503_and_the_server_recovers(server: ApiProcess) -> None:
    with contextlib.ExitStack() as stack:
        held = [stack.enter_context(connect(server.port)) for _ in range(CAP)]
        for sock in held:  # one request each, so every connection is surely accepted
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = read_response(sock)
            assert answer is not None and answer.status == 200
        extra = exchange(server.port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert extra is not None and extra.status == 503
        assert extra.json()["error"]["code"] == "too_many_connections"
        assert extra.headers["retry-after"]
        assert_hardened(extra)
    server.wait_for("/health", 200, timeout=WAIT)  # once the server has seen them close


def test_a_request_in_time_is_served(server: ApiProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = read_response(sock)
        assert answer is not None and answer.status == 200
