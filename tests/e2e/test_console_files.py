"""GET /console: the console's few packaged files, served without a token under a strict
Content-Security-Policy (no inline script or style), and nothing else under /console/. What
the page does is tested in a real browser (test_browser_console.py)."""

from html.parser import HTMLParser

import pytest

from kv_api.infrastructure.settings import Settings
from kv_api.presentation.openapi import build_openapi
from kv_api.presentation.routes.console.endpoints import ASSETS, FILES, PAGE
from tests.e2e.conftest import Client

CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SERVED = {"/console": "text/html", **{f"/console/{name}": t for name, t in ASSETS.items()}}


class _Page(HTMLParser):
    """What of the page could run or style without a file of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.loaded: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.inline += [f"{tag} {name}" for name in named if name == "style" or name[:2] == "on"]
        if tag == "style":
            self.inline.append("style element")
        if tag == "script":
            self._in_script = True
            self.loaded.append(named.get("src") or "")
        if tag == "link":
            self.loaded.append(named.get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("script text")


@pytest.mark.parametrize(("path", "media_type"), sorted(SERVED.items()))
async def test_each_file_is_served_without_a_token_under_the_console_policy(
    api: Client, path: str, media_type: str
) -> None:
    resp = await api.get(path)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == media_type.split(";")[0]
    assert resp.headers["Content-Security-Policy"] == CONSOLE_CSP
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.headers["X-Request-ID"]
    name = path.removeprefix("/console").removeprefix("/") or PAGE
    assert await resp.read() == (FILES / name).read_bytes()
    head = await api.head(path)
    assert head.status == 200


async def test_a_file_seen_before_is_not_sent_again(api: Client) -> None:
    first = await api.get("/console/console.js")
    again = await api.get("/console/console.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304
    assert again.headers["Content-Security-Policy"] == CONSOLE_CSP


@pytest.mark.parametrize(
    "path",
    [
        "/console/",
        "/console/index.html",
        "/console/endpoints.py",
        "/console/..%2Fendpoints.py",
        "/console/%2e%2e/endpoints.py",
        "/console/files",
        "/console/CONSOLE.JS",
    ],
)
async def test_nothing_else_is_served_under_console(api: Client, path: str) -> None:
    resp = await api.get(path)
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


def test_the_page_has_no_inline_script_or_style_and_loads_only_its_own_files() -> None:
    page = _Page()
    page.feed((FILES / PAGE).read_text())
    assert page.inline == []
    assert sorted(page.loaded) == sorted(f"/console/{name}" for name in ASSETS)


def test_the_script_calls_only_this_origin() -> None:
    script = (FILES / "console.js").read_text()
    assert "://" not in script
    assert "eval(" not in script and "new Function" not in script and "innerHTML" not in script


def test_the_console_is_not_part_of_the_api_document() -> None:
    paths = build_openapi(Settings())["paths"]
    assert not [path for path in paths if path.startswith("/console")]
