"""Request ids and security headers on every response, errors included."""

import re

import pytest

from tests.e2e.conftest import Client

API_CSP = "default-src 'none'; frame-ancestors 'none'"
HARDENING = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/health", 200), ("GET", "/no/such/route", 404), ("POST", "/api/read", 401)],
)
async def test_security_headers_on_success_and_errors(
    api: Client, method: str, path: str, status: int
) -> None:
    resp = await api.request(method, path, json={"keys": ["k"]})
    assert resp.status == status
    for name, expected in HARDENING.items():
        assert resp.headers[name] == expected
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Content-Security-Policy"] == API_CSP


async def test_docs_get_a_csp_that_lets_swagger_ui_run(api: Client) -> None:
    resp = await api.get("/docs")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self' 'unsafe-inline'" in csp
    assert "img-src 'self' data:" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_sane_request_id_is_kept(api: Client) -> None:
    resp = await api.get("/health", headers={"X-Request-ID": "edge-01.Trace_9"})
    assert resp.headers["X-Request-ID"] == "edge-01.Trace_9"


async def test_a_request_id_is_generated_when_missing(api: Client) -> None:
    first = (await api.get("/no/such/route")).headers["X-Request-ID"]
    second = (await api.get("/no/such/route")).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


@pytest.mark.parametrize("incoming", ["x" * 129, "has space", "semi;colon", "", "<script>"])
async def test_an_insane_request_id_is_replaced(api: Client, incoming: str) -> None:
    resp = await api.get("/health", headers={"X-Request-ID": incoming})
    assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["X-Request-ID"])


async def test_the_longest_sane_request_id_is_kept(api: Client) -> None:
    incoming = "a" * 128
    resp = await api.get("/health", headers={"X-Request-ID": incoming})
    assert resp.headers["X-Request-ID"] == incoming
