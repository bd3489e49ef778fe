"""The access log's two ways to a line: straight to the one JSON stream `configure_logging`
sets up, or through a LogRecord for any other set-up. Both give the same line."""

import asyncio
import io
import json
import logging
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from kv_api.application.ports import Session
from kv_api.presentation.http.auth import SESSION_KEY
from kv_api.presentation.http.observability import access_logger, log_access
from kv_api.presentation.http.request_context import RequestContextFilter
from kv_api.presentation.logs import (
    BufferedStreamHandler,
    JsonFormatter,
    TextFormatter,
    json_stream_of,
    log_handler,
)


def _buffered_json(stream: io.StringIO) -> BufferedStreamHandler:
    handler = BufferedStreamHandler(stream, interval=3600)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    return handler


@pytest.fixture
def tree() -> logging.Logger:
    """A logger under a parent that does not propagate: a hierarchy of the test's own, out of
    the logging registry (the test runner adds its capture handlers to registered ones)."""
    parent = logging.Logger("kv_api_test_tree")
    parent.propagate = False
    child = logging.Logger("kv_api_test_tree.access")
    child.parent = parent
    return child


def test_the_stream_configure_logging_makes_is_found(tree: logging.Logger) -> None:
    handler = _buffered_json(io.StringIO())
    assert tree.parent is not None
    tree.parent.addHandler(handler)
    assert json_stream_of(tree) is handler


@pytest.mark.parametrize(
    "change",
    ["second handler", "text format", "plain stream handler", "logger filter", "quiet handler"],
)
def test_any_other_set_up_goes_through_records(tree: logging.Logger, change: str) -> None:
    parent = tree.parent
    assert parent is not None
    handler = _buffered_json(io.StringIO())
    parent.addHandler(handler)
    if change == "second handler":
        parent.addHandler(logging.StreamHandler(io.StringIO()))
    elif change == "text format":
        handler.setFormatter(TextFormatter())
    elif change == "plain stream handler":
        parent.handlers[:] = [log_handler("json", io.StringIO())]
    elif change == "logger filter":
        parent.addFilter(lambda record: True)
    else:
        handler.setLevel(logging.WARNING)
    assert json_stream_of(tree) is None


def _request() -> web.Request:
    app = web.Application()

    async def read(request: web.Request) -> web.Response:
        return web.Response()

    app.router.add_post("/api/read", read)
    request = make_mocked_request("POST", "/api/read?secret=1", app=app)
    request._match_info = asyncio.run(app.router.resolve(request))  # type: ignore[attr-defined]
    request[SESSION_KEY] = Session(user_id=7, token_version=0, token_id="j" * 16, expires_at=0)
    return request


def _logged(handlers: list[logging.Handler], direct: bool) -> list[dict[str, Any]]:
    """log_access once with `handlers` as the only ones `kv_api.access` reaches."""
    saved = access_logger.handlers[:], access_logger.propagate, access_logger.level
    access_logger.handlers[:] = handlers
    access_logger.propagate = False
    access_logger.setLevel(logging.INFO)
    try:
        assert (json_stream_of(access_logger) is not None) == direct
        log_access(_request(), 200, 0.0012345, "trace-1")
    finally:
        access_logger.handlers[:], access_logger.propagate, _ = saved
        access_logger.setLevel(saved[2])
    lines = []
    for handler in handlers:
        handler.flush()
        stream = getattr(handler, "_stream", None) or getattr(handler, "stream", None)
        assert isinstance(stream, io.StringIO)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())
    return lines


def test_both_ways_give_the_same_line() -> None:
    [direct] = _logged([_buffered_json(io.StringIO())], direct=True)
    two = [_buffered_json(io.StringIO()), log_handler("json", io.StringIO())]
    [through_record, same] = _logged(two, direct=False)
    assert through_record == same
    for line in (direct, through_record):
        del line["time"]
    assert direct == through_record
    assert list(direct) == [
        "level", "logger", "message", "path", "status", "duration_ms", "remote",
        "request_id", "method", "route", "user_id",
    ]  # fmt: skip
    assert direct["message"] == "POST /api/read 200"
    assert (direct["path"], direct["duration_ms"], direct["user_id"]) == ("/api/read", 1.234, 7)


def test_a_quiet_access_logger_writes_nothing_either_way() -> None:
    stream = io.StringIO()
    handler = _buffered_json(stream)
    saved = access_logger.level
    access_logger.setLevel(logging.WARNING)
    try:
        access_logger.addHandler(handler)
        log_access(_request(), 200, 0.001, "quiet")
    finally:
        access_logger.removeHandler(handler)
        access_logger.setLevel(saved)
    handler.flush()
    assert stream.getvalue() == ""
