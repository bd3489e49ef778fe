"""Raw HTTP/1.1 over a loopback socket, for requests no well-behaved client would send."""

import json
import re
import socket
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def read_response(sock: socket.socket) -> RawResponse | None:
    """One response (or None if the server closed without answering); reads to the end of
    the body given by Content-Length, else to the close."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None if not data else _parse(data, sock)
        data += chunk
    return _parse(data, sock)


def _parse(data: bytes, sock: socket.socket) -> RawResponse:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        try:
            chunk = sock.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        body += chunk
    return RawResponse(status, headers, body[:length] if length >= 0 else body)


def exchange(port: int, raw: bytes, timeout: float = 10.0) -> RawResponse | None:
    with connect(port, timeout) as sock:
        sock.sendall(raw)
        return read_response(sock)


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server closes the connection before the socket's timeout."""
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def assert_hardened(answer: RawResponse) -> None:
    """A new request id and the hardening headers, as on every answer of the app's."""
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers.get("x-request-id", "")), answer
    assert answer.headers.get("x-content-type-options") == "nosniff", answer
    assert answer.headers.get("cache-control") == "no-store", answer
