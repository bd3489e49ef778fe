"""Structured logs: one JSON object per line, tagged with the request; never a secret."""

import io
import json
import logging
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web

from kv_api.infrastructure.settings import Settings
from kv_api.presentation.app import create_app
from kv_api.presentation.logs import log_handler
from tests.conftest import TEST_SECRET, unique_name
from tests.e2e.conftest import Client, bearer, register
from tests.support.server import ApiProcess, tarantool_env
from tests.support.tarantool import TarantoolProcess


@pytest.fixture
def captured_logs() -> Iterator[Callable[[str], io.StringIO]]:
    """Root logging at DEBUG into streams, through the handler `configure_logging` installs."""
    root = logging.getLogger()
    level = root.level
    handlers: list[logging.Handler] = []

    def capture(fmt: str) -> io.StringIO:
        stream = io.StringIO()
        handlers.append(log_handler(fmt, stream))
        root.addHandler(handlers[-1])
        return stream

    root.setLevel(logging.DEBUG)
    yield capture
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _user_id(token: str) -> int:
    return int(jwt.decode(token, options={"verify_signature": False})["sub"])


async def _chatty_api(aiohttp_client: Any, settings: Settings) -> Client:
    async def chatty(request: web.Request) -> web.Response:
        logging.getLogger("kv_api.test").debug("inside the handler")
        return web.json_response({})

    app = create_app(settings)
    app.router.add_get("/api/chatty", chatty)
    client: Client = await aiohttp_client(app)
    return client


async def test_every_line_of_a_request_carries_its_id_route_and_user(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    captured_logs: Callable[[str], io.StringIO],
) -> None:
    stream = captured_logs("json")
    api = await _chatty_api(aiohttp_client, make_settings())
    token = (await register(api))["token"]
    headers = {**bearer(token), "X-Request-ID": "trace-42"}
    assert (await api.get("/api/chatty", headers=headers)).status == 200

    mine = [line for line in json_lines(stream) if line.get("request_id") == "trace-42"]
    assert [line["message"] for line in mine] == ["inside the handler", "GET /api/chatty 200"]
    for line in mine:
        assert line["route"] == "/api/chatty"
        assert line["method"] == "GET"
        assert line["user_id"] == _user_id(token)
    access = mine[-1]
    assert list(access) == [
        "time",
        "level",
        "logger",
        "message",
        "path",
        "status",
        "duration_ms",
        "remote",
        "request_id",
        "method",
        "route",
        "user_id",
    ]
    assert access["logger"] == "kv_api.access"
    assert access["path"] == "/api/chatty"
    assert access["remote"] == "127.0.0.1"
    assert access["level"] == "info"
    assert access["status"] == 200
    assert isinstance(access["duration_ms"], float)
    assert access["time"].endswith("+00:00")


async def test_access_lines_for_errors_and_generated_ids(
    api: Client, captured_logs: Callable[[str], io.StringIO]
) -> None:
    stream = captured_logs("json")
    resp = await api.get("/no/such/route?secret=1")
    request_id = resp.headers["X-Request-ID"]
    [line] = [line for line in json_lines(stream) if line.get("request_id") == request_id]
    assert line["message"] == "GET /no/such/route 404"
    assert line["route"] == "unmatched"
    assert line["status"] == 404
    assert "user_id" not in line


async def test_text_format_carries_the_request_id(
    api: Client, captured_logs: Callable[[str], io.StringIO]
) -> None:
    stream = captured_logs("text")
    await api.get("/health", headers={"X-Request-ID": "text-7"})
    [line] = [line for line in stream.getvalue().splitlines() if "request_id=text-7" in line]
    assert "INFO" in line
    assert "GET /health 200" in line
    assert "status=200" in line


async def test_access_log_can_be_switched_off(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    captured_logs: Callable[[str], io.StringIO],
) -> None:
    stream = captured_logs("json")
    api = await aiohttp_client(create_app(make_settings(access_log=False)))
    resp = await api.get("/health", headers={"X-Request-ID": "quiet-1"})
    assert resp.headers["X-Request-ID"] == "quiet-1"
    assert not [line for line in json_lines(stream) if line.get("request_id") == "quiet-1"]


def _forged_tokens(valid: str) -> list[str]:
    now = int(time.time())
    claims = {"sub": "1", "ver": 0, "jti": "j" * 16, "iat": now - 7200, "exp": now - 3600}
    expired = jwt.encode({**claims, "iss": "kv-api"}, TEST_SECRET, algorithm="HS256")
    unsigned = jwt.encode({**claims, "exp": now + 600}, None, algorithm="none")
    tampered = valid[:-2] + ("AA" if not valid.endswith("AA") else "BB")
    return [expired, unsigned, tampered, "not.a.jwt"]


async def _full_flow(api: Client) -> tuple[list[str], list[str]]:
    """Every account and data call; returns (secrets that must not be logged, request ids)."""
    first, second, wrong = "Sesame-" + unique_name(), "Opened-" + unique_name(), "Wrong-pw-1"
    values = ["value-" + unique_name(), "nested-" + unique_name()]
    user = await register(api, password=first)
    name, t1 = user["username"], user["token"]
    ids: list[str] = []
    for password in (wrong, first):
        resp = await api.post("/api/login", json={"username": name, "password": password})
        ids.append(resp.headers["X-Request-ID"])
    t2 = (await resp.json())["token"]
    data = {"k1": values[0], "k2": {"deep": [values[1]]}}
    await api.post("/api/write", json={"data": data}, headers=bearer(t2))
    await api.post("/api/read", json={"keys": ["k1", "k2"]}, headers=bearer(t2))
    change = {"password": second, "current_password": wrong}
    assert (await api.patch("/api/users/me", json=change, headers=bearer(t2))).status == 403
    change["current_password"] = first
    t3 = (await (await api.patch("/api/users/me", json=change, headers=bearer(t2))).json())["token"]
    assert (await api.post("/api/logout", headers=bearer(t3))).status == 204
    forged = _forged_tokens(t3)
    for token in [t1, t2, t3, *forged]:
        assert (await api.get("/api/users/me", headers=bearer(token))).status == 401
        assert (await api.get("/api/users/me", headers={"Authorization": token})).status == 401
    tokens = [t1, t2, t3, *forged[:-1]]
    signatures = [token.rsplit(".", 1)[1] for token in tokens if not token.endswith(".")]
    return [first, second, wrong, *values, *tokens, *signatures], ids


async def test_no_password_token_or_value_is_ever_logged(
    api: Client, captured_logs: Callable[[str], io.StringIO]
) -> None:
    json_stream, text_stream = captured_logs("json"), captured_logs("text")
    secrets, request_ids = await _full_flow(api)

    output = json_stream.getvalue() + text_stream.getvalue()
    assert all(request_id in output for request_id in request_ids)  # the capture works
    assert output.count('"route":"/api/users/me"') >= 16
    leaked = [secret for secret in secrets if secret in output]
    assert leaked == []


def test_a_served_process_writes_the_same_access_line(
    tarantool: TarantoolProcess, tmp_path: Path
) -> None:
    """`kv-api serve` sets logging up so that access lines skip the LogRecord; they must
    still carry every field, in the order the in-process tests above expect."""
    env = {**tarantool_env(tarantool), "KV_LOG_FORMAT": "json"}
    api = ApiProcess(tmp_path / "data", env=env).start()
    try:
        status, body = api.request(
            "POST", "/api/register", {"username": unique_name("log"), "password": "s3cret-passw0rd"}
        )
        assert status in (200, 201), body
        token = body["token"]
        request = urllib.request.Request(
            api.base + "/api/read?q=secret",
            data=b'{"keys": ["a"]}',
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "served-1"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200
    finally:
        assert api.stop() == 0
    lines = [json.loads(line) for line in api.log().splitlines() if line.startswith("{")]
    [access] = [line for line in lines if line.get("request_id") == "served-1"]
    assert list(access) == [
        "time", "level", "logger", "message", "path", "status", "duration_ms", "remote",
        "request_id", "method", "route", "user_id",
    ]  # fmt: skip
    assert access["message"] == "POST /api/read 200"
    assert (access["logger"], access["level"], access["path"]) == (
        "kv_api.access",
        "info",
        "/api/read",
    )
    assert access["user_id"] == _user_id(token)
