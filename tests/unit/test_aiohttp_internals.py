"""The aiohttp internals src/presentation/http/protocol.py relies on, checked against the
installed aiohttp. An upgrade that removes or reshapes one fails here, naming it: otherwise a
renamed `_make_server` would quietly leave aiohttp's plain server in place, and a renamed
`_request_count` would turn every header timeout into an AttributeError inside a callback.

The list of what protocol.py touches is its docstring; the first test keeps the two in step."""

import ast
import asyncio
import collections
import inspect
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from kv_api.presentation.http import protocol
from kv_api.presentation.http.limits import EdgeLimits
from kv_api.presentation.http.protocol import EdgeAppRunner, EdgeRequestHandler, EdgeServer

SRC = Path(__file__).resolve().parents[2] / "src"
PROTOCOL = SRC / "presentation" / "http" / "protocol.py"
AIOHTTP = f"aiohttp {aiohttp.__version__}"
# Each Edge class, the aiohttp class it extends and the members of that class it overrides.
OVERRIDES: dict[type, tuple[type, set[str]]] = {
    EdgeServer: (web.Server, {"__init__", "__call__"}),
    EdgeRequestHandler: (
        RequestHandler,
        {"__init__", "connection_made", "connection_lost", "data_received", "handle_error"},
    ),
    EdgeAppRunner: (web.AppRunner, {"__init__", "_make_server"}),
}
# Overrides called by aiohttp, which must take what aiohttp passes (the __init__s are called
# by this project's own code, which test_the_edge_runner_builds_the_edge_server covers).
CALLED_BY_AIOHTTP = [
    (EdgeServer, "__call__"),
    (EdgeRequestHandler, "connection_made"),
    (EdgeRequestHandler, "connection_lost"),
    (EdgeRequestHandler, "data_received"),
    (EdgeRequestHandler, "handle_error"),
    (EdgeAppRunner, "_make_server"),
]
# Private members read outside protocol.py that are not aiohttp's.
NOT_AIOHTTP = {
    "logging._srcfile",  # the standard library's (logs.py)
    "logging._startTime",  # the standard library's (http/observability.py)
    "super()._deserialize",  # marshmallow's hook for a custom field
}
LIMITS = EdgeLimits(
    max_body_bytes=1000,
    header_timeout=5.0,
    body_timeout=5.0,
    keepalive_timeout=7.0,
    max_connections=10,
    max_header_bytes=4321,
)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _documented() -> set[str]:
    """The private names protocol.py's docstring lists, as in `RequestHandler._waiter`."""
    return set(re.findall(r"\.(_[a-z][a-z_]*)`", protocol.__doc__ or ""))


def _own_names(cls: ast.ClassDef) -> set[str]:
    """What a class of protocol.py defines: its methods and what its methods assign to self."""
    names = {
        node.name for node in cls.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    names |= {
        target.id
        for node in cls.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(cls):
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            ):
                names.add(target.attr)
    return names


def _classes() -> dict[str, ast.ClassDef]:
    tree = ast.parse(PROTOCOL.read_text())
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def test_the_docstring_lists_every_aiohttp_internal_protocol_touches() -> None:
    tree = ast.parse(PROTOCOL.read_text())
    read = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and _private(node.attr)
    }
    own = {name for cls in _classes().values() for name in _own_names(cls) if _private(name)}
    documented = _documented()
    undocumented = read - own - documented
    assert not undocumented, f"protocol.py touches {undocumented}: list them in its docstring"
    listed_but_untouched = documented - read - own
    assert not listed_but_untouched, f"the docstring lists {listed_but_untouched}, never touched"
    # a private member protocol.py defines that aiohttp defines too is an override: listed
    overridden = {name for _, names in OVERRIDES.values() for name in names if _private(name)}
    assert overridden <= documented, overridden - documented


@pytest.fixture
async def fresh() -> AsyncIterator[tuple[web.Server, RequestHandler, web.AppRunner]]:
    """aiohttp's own server, request handler and runner, as it makes them."""

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response()

    server = web.Server(handler, loop=asyncio.get_running_loop(), keepalive_timeout=7.0)
    runner = web.AppRunner(web.Application())
    yield server, server(), runner
    await runner.cleanup()


@pytest.mark.parametrize("edge", list(OVERRIDES))
async def test_what_protocol_adds_shadows_nothing_of_aiohttp(
    edge: type, fresh: tuple[web.Server, RequestHandler, web.AppRunner]
) -> None:
    base, overrides = OVERRIDES[edge]
    instance = next(made for made in fresh if type(made) is base)
    for name in sorted(overrides):
        assert hasattr(base, name), f"{AIOHTTP}: {base.__name__}.{name}, overridden, is gone"
    added = _own_names(_classes()[edge.__name__]) - overrides
    for name in sorted(added):
        assert not hasattr(instance, name), (
            f"{AIOHTTP}: {base.__name__} has a member {name!r}, which {edge.__name__} also "
            "defines: rename ours, or if it is meant as an override, list it in protocol.py's "
            "docstring and in OVERRIDES here"
        )


@pytest.mark.parametrize(("edge", "name"), CALLED_BY_AIOHTTP)
def test_an_override_keeps_aiohttps_signature(edge: type, name: str) -> None:
    base, _ = OVERRIDES[edge]

    def shape(method: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
        parameters = inspect.signature(method).parameters.values()
        return [(p.name, p.kind, p.default) for p in parameters]

    theirs, ours = getattr(base, name), getattr(edge, name)
    assert shape(theirs) == shape(ours), (
        f"{AIOHTTP}: {base.__name__}.{name}{inspect.signature(theirs)} differs from "
        f"{edge.__name__}'s override {name}{inspect.signature(ours)}"
    )
    assert inspect.iscoroutinefunction(theirs) == inspect.iscoroutinefunction(ours), (
        f"{AIOHTTP}: {base.__name__}.{name} and {edge.__name__}'s override differ in being async"
    )


def _member(instance: object, name: str) -> Any:
    if not hasattr(instance, name):
        pytest.fail(f"{AIOHTTP}: a fresh {type(instance).__name__} has no {name}")
    return getattr(instance, name)


async def test_the_server_keeps_its_handler_arguments_and_loop(
    fresh: tuple[web.Server, RequestHandler, web.AppRunner],
) -> None:
    server, _, _ = fresh
    assert _member(server, "_kwargs") == {"keepalive_timeout": 7.0}, (
        f"{AIOHTTP}: Server._kwargs is not the handler arguments it was given"
    )
    assert _member(server, "_loop") is asyncio.get_running_loop()
    # EdgeServer re-creates its base server from these public attributes
    signature = inspect.signature(web.Server.__init__)
    for name in ("request_factory", "handler_cancellation", "loop"):
        assert signature.parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, name
    for name in ("request_handler", "request_factory", "handler_cancellation"):
        _member(server, name)


async def test_a_fresh_handler_has_the_state_protocol_reads(
    fresh: tuple[web.Server, RequestHandler, web.AppRunner],
) -> None:
    _, handler, _ = fresh
    assert _member(handler, "_loop") is asyncio.get_running_loop()
    assert _member(handler, "_request_count") == 0
    messages = _member(handler, "_messages")
    assert isinstance(messages, collections.deque) and not messages, type(messages)
    assert _member(handler, "_waiter") is None
    assert _member(handler, "_current_request") is None
    assert _member(handler, "transport") is None


class _Transport(asyncio.Transport):
    """Enough of a socket's transport for a request handler: keeps what is written."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _until(condition: Callable[[], bool], what: str) -> None:
    """Let the loop run until `condition` holds (a few iterations; fail after a second)."""
    deadline = asyncio.get_running_loop().time() + 1.0
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"{AIOHTTP}: never {what}"
        await asyncio.sleep(0)


async def test_a_connection_moves_through_the_states_protocol_reads() -> None:
    """What each member means, on one connection: the waiter while no request is parsed, the
    count and the queue once a request's headers are complete, its payload until its body is,
    the current request and its writer while the application's handler runs."""
    seen: list[tuple[bool, int]] = []

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        seen.append((handler._current_request is request, request.writer.output_size))
        return web.Response(body=await request.read())

    server = web.Server(handle, loop=asyncio.get_running_loop(), tcp_keepalive=False)
    handler = server()
    transport = _Transport()
    handler.connection_made(transport)
    try:
        await _until(lambda: handler._waiter is not None, "set _waiter while idle")
        waiter = handler._waiter
        assert waiter is not None
        handler.data_received(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-")
        assert (handler._request_count, len(handler._messages)) == (0, 0), AIOHTTP
        assert not waiter.done(), f"{AIOHTTP}: _waiter resolved by unfinished headers"
        handler.data_received(b"Length: 5\r\n\r\nab")
        assert (handler._request_count, len(handler._messages)) == (1, 1), AIOHTTP
        assert waiter.done(), f"{AIOHTTP}: _waiter not resolved by a parsed request"
        _, payload = handler._messages[0]
        assert isinstance(payload, StreamReader) and not payload.is_eof(), (AIOHTTP, payload)
        handler.data_received(b"cde")
        assert payload.is_eof(), f"{AIOHTTP}: the payload does not end with its body"
        await _until(lambda: transport.written.endswith(b"abcde"), "answered the request")
        assert seen == [(True, 0)], f"{AIOHTTP}: _current_request or writer.output_size: {seen}"
    finally:
        handler.connection_lost(None)
    await _until(lambda: not server.connections, "let the connection go")


async def test_the_edge_runner_builds_the_edge_server() -> None:
    """`setup()` makes its server with `_make_server`, and the handler arguments the runner
    passes on through `Server._kwargs` are all taken by `RequestHandler.__init__`."""
    runner = EdgeAppRunner(web.Application(), LIMITS, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        server = runner.server
        assert isinstance(server, EdgeServer), (
            f"{AIOHTTP}: AppRunner.setup() does not make its server with _make_server"
        )
        handler = server()
        assert isinstance(handler, EdgeRequestHandler)
        assert handler.keepalive_timeout == LIMITS.keepalive_timeout
        assert handler.max_field_size == LIMITS.max_header_bytes
    finally:
        await runner.cleanup()


def test_no_module_but_protocol_touches_aiohttp_internals() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path == PROTOCOL:
            continue
        where = path.relative_to(SRC)
        tree = ast.parse(path.read_text())
        from_aiohttp = {"aiohttp"}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "aiohttp":
                from_aiohttp |= {alias.asname or alias.name for alias in node.names}
                found += [f"{where}: imports {a.name}" for a in node.names if _private(a.name)]
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for base in map(ast.unparse, node.bases):
                    if base.split(".")[0] in from_aiohttp:
                        found.append(f"{where}: {node.name} extends aiohttp's {base}")
            if isinstance(node, ast.Attribute) and _private(node.attr):
                owner = ast.unparse(node.value)
                if owner not in {"self", "cls"} and f"{owner}.{node.attr}" not in NOT_AIOHTTP:
                    found.append(f"{where}:{node.lineno}: {owner}.{node.attr}")
    assert not found, (
        "aiohttp's internals belong in presentation/http/protocol.py, where this file checks "
        f"them; if one of these is not aiohttp's, add it to NOT_AIOHTTP: {found}"
    )
