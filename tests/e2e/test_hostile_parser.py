"""What aiohttp's HTTP parser refuses still gets the JSON error body, the right status, and
one quiet log line that quotes no header."""

import time
import zlib
from collections.abc import Iterator

import pytest

from tests.conftest import unique_name
from tests.support.raw_http import RawResponse, assert_hardened, exchange
from tests.support.server import ApiProcess, tarantool_env
from tests.support.tarantool import TarantoolProcess

HOST = b"Host: 127.0.0.1\r\n"


@pytest.fixture(scope="module")
def server(
    tarantool: TarantoolProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiProcess]:
    env = {
        **tarantool_env(tarantool),
    }
    api = ApiProcess(tmp_path_factory.mktemp("hostile") / "data", env)
    try:
        yield api.start()
    finally:
        api.stop()


@pytest.fixture(scope="module")
def token(server: ApiProcess) -> str:
    status, body = server.request(
        "POST", "/api/register", {"username": unique_name(), "password": "correct-horse-9"}
    )
    assert status == 200, body
    value: str = body["token"]
    return value


def send(server: ApiProcess, raw: bytes) -> RawResponse:
    answer = exchange(server.port, raw)
    assert answer is not None, "the server closed the connection without an answer"
    return answer


def assert_json_error(answer: RawResponse, status: int) -> dict[str, str]:
    assert answer.status == status, answer
    assert answer.headers["content-type"].startswith("application/json"), answer
    error: dict[str, str] = answer.json()["error"]
    assert error["code"] and error["message"]
    return error


def post(path: str, body: bytes, *headers: str) -> bytes:
    lines = "".join(f"{h}\r\n" for h in headers).encode()
    return (
        f"POST {path} HTTP/1.1\r\n".encode()
        + HOST
        + lines
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize("path", ["/api/register", "/api/login", "/health", "/nowhere"])
def test_a_malformed_compressed_body_is_a_400(server: ApiProcess, encoding: str, path: str) -> None:
    answer = send(server, post(path, b"not compressed", f"Content-Encoding: {encoding}"))
    assert_json_error(answer, 400)


@pytest.mark.parametrize("path", ["/api/register", "/api/login", "/health", "/nowhere"])
def test_a_compressed_body_is_refused_with_415(server: ApiProcess, path: str) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = packer.compress(b"a" * 2**20) + packer.flush()
    answer = send(server, post(path, bomb, "Content-Encoding: gzip"))
    assert_json_error(answer, 415)


def test_an_encoding_without_a_decoder_is_refused_with_415(server: ApiProcess) -> None:
    answer = send(server, post("/api/login", b"\x0b\x01\x80{}\x03", "Content-Encoding: br"))
    assert "brotli" not in assert_json_error(answer, 415)["message"].lower()


def test_a_huge_authorization_header_is_a_401(server: ApiProcess) -> None:
    raw = b"GET /api/users/me HTTP/1.1\r\n" + HOST + b"Authorization: Bearer " + b"a" * 9000
    answer = send(server, raw + b"\r\n\r\n")
    assert_json_error(answer, 401)
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_headers_past_any_sane_size_are_a_431(server: ApiProcess) -> None:
    raw = b"GET /health HTTP/1.1\r\n" + HOST + b"X-Filler: " + b"a" * 100_000 + b"\r\n\r\n"
    answer = send(server, raw)
    assert_json_error(answer, 431)
    assert_hardened(answer)


def test_an_unknown_method_is_a_405_with_allow(server: ApiProcess) -> None:
    answer = send(server, b"FOO /api/users/me HTTP/1.1\r\n" + HOST + b"\r\n")
    assert_json_error(answer, 405)
    assert "GET" in answer.headers["allow"]
    assert_hardened(answer)


def test_an_unknown_expectation_is_a_417(server: ApiProcess) -> None:
    answer = send(server, post("/api/login", b"{}", "Expect: bogus"))
    assert_json_error(answer, 417)


@pytest.mark.parametrize("path", ["/api/write", "/api/register", "/nowhere"])
def test_an_oversized_declared_body_with_expect_is_refused_before_continue(
    server: ApiProcess, path: str
) -> None:
    raw = (
        f"POST {path} HTTP/1.1\r\n".encode()
        + HOST
        + b"Expect: 100-continue\r\nContent-Length: 200000000\r\n\r\n"
    )
    assert_json_error(send(server, raw), 413)


def test_an_oversized_declared_body_is_refused_before_it_is_read(server: ApiProcess) -> None:
    raw = b"POST /api/login HTTP/1.1\r\n" + HOST + b"Content-Length: 200000000\r\n\r\n"
    assert_json_error(send(server, raw), 413)


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: abc\r\n\r\n",
        b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        b"Bad Header Line\r\n\r\n",
    ],
)
def test_malformed_framing_is_a_400(server: ApiProcess, framing: bytes) -> None:
    answer = send(server, b"POST /api/login HTTP/1.1\r\n" + HOST + framing)
    assert_json_error(answer, 400)
    assert_hardened(answer)


def test_parser_rejections_log_one_quiet_line_without_the_token(
    server: ApiProcess, token: str
) -> None:
    before = len(server.log())
    smuggled = (
        b"GET /api/users/me HTTP/1.1\r\n" + HOST + b"Authorization: Bearer\x0b" + token.encode()
    )
    requests = [
        smuggled + b"\r\n\r\n",
        b"FOO / HTTP/1.1\r\n" + HOST + b"X-Token: " + token.encode() + b"\x01\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + HOST + b"X-Filler: " + token.encode() * 3000 + b"\r\n\r\n",
        post("/api/register", b"not gzip", "Content-Encoding: gzip"),
        b"POST /api/login HTTP/1.1\r\n" + HOST + b"Content-Length: " + token.encode() + b"\r\n\r\n",
    ]
    for raw in requests:
        answer = send(server, raw)
        assert 400 <= answer.status < 500, answer
    log = server.log()[before:]
    assert token not in log
    assert token.split(".")[1] not in log  # not even the payload part
    assert "Traceback" not in log
    rejected = [line for line in log.splitlines() if "ERROR" in line or "CRITICAL" in line]
    assert rejected == []


def test_a_parser_rejection_is_one_warning_line(server: ApiProcess) -> None:
    before = len(server.log())
    send(server, b"GET / HTTP/1.1\r\n" + HOST + b"Bad Header Line\r\n\r\n")
    lines = [line for line in server.log()[before:].splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "WARNING" in lines[0]


def test_ordinary_requests_still_work(server: ApiProcess, token: str) -> None:
    status, body = server.request("GET", "/api/users/me", token=token)
    assert status == 200, body


@pytest.mark.parametrize(
    ("raw", "status", "line"),
    [
        (
            post("/api/login", b"{}", "Expect: bogus", "X-Request-ID: early-417"),
            417,
            "POST /api/login 417",
        ),
        (
            post("/nowhere", b"not gzip", "Content-Encoding: gzip", "X-Request-ID: early-400"),
            400,
            "POST /nowhere 400",
        ),
        (
            b"POST /api/write HTTP/1.1\r\n"
            + HOST
            + b"X-Request-ID: early-413\r\nContent-Length: 200000000\r\n\r\n",
            413,
            "POST /api/write 413",
        ),
    ],
)
def test_refusals_before_routing_carry_the_request_id_headers_and_a_log_line(
    server: ApiProcess, raw: bytes, status: int, line: str
) -> None:
    """Refused by the edge limits before the app routes them: still an answer of the app's,
    with the caller's request id, the hardening headers and an access-log line."""
    answer = send(server, raw)
    assert_json_error(answer, status)
    assert answer.headers["x-request-id"] == f"early-{status}"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"
    deadline = time.monotonic() + 5
    while f"request_id=early-{status}" not in server.log():  # lines are flushed every 0.2 s
        assert time.monotonic() < deadline, server.log()[-2000:]
        time.sleep(0.05)
    [logged] = [text for text in server.log().splitlines() if f"request_id=early-{status}" in text]
    assert line in logged and "route=unmatched" in logged
