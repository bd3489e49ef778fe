"""The web console in a real headless Chromium (Debian's, never a downloaded one) against a
real `kv-api serve`: log in and out, list by prefix a page at a time, open, create with a ttl,
edit, a conflict, delete, live updates through the change feed (and its resumption with
Last-Event-ID after the server restarts), expiry of the session, the API's own error answers
next to their fields, keyboard use, the 375 px layout, and CORS from another origin. Every
test also checks that no request left the server's origin and no script error happened.

Set KV_CONSOLE_SCREENSHOT=docs/console.png to refresh the README screenshot."""

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Locator, expect, sync_playwright

from kv_api.infrastructure.tarantool.managed import free_port
from tests.conftest import unique_name
from tests.support.server import CHEAP_ENV, ApiProcess, tarantool_env
from tests.support.tarantool import TarantoolProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]
TIMEOUT_MS = 30_000
PASSWORD = "console-password-1"
SESSION_KEY = "kv-console-session"
# Chrome logs every 4xx it is answered as a console error; those answers are the tests' own.
HTTP_ANSWER = "Failed to load resource: the server responded with a status of"
REFUSED = "Failed to load resource: net::ERR_CONNECTION_REFUSED"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="needs Debian's chromium (`make test` installs it); required when CI is set",
    ),
]


@pytest.fixture(scope="module")
def app_port() -> int:
    """The port of a page of another origin (http://127.0.0.1:<it>) allowed by KV_CORS_ORIGINS."""
    return free_port()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, tarantool: TarantoolProcess, app_port: int
) -> Iterator[ApiProcess]:
    env = {
        **tarantool_env(tarantool),
        "KV_LOG_LEVEL": "WARNING",
        "KV_CORS_ORIGINS": f"http://127.0.0.1:{app_port}",
    }
    api = ApiProcess(tmp_path_factory.mktemp("console") / "data", env)
    try:
        yield api.start()
    finally:
        api.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


class Console:
    """A page of the console, offline: a request to any other origin is aborted and kept,
    as are uncaught errors and console errors other than the server's own 4xx answers."""

    def __init__(self, browser: Browser, base: str, width: int = 1280, height: int = 860) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.context.set_default_timeout(TIMEOUT_MS)
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._only_the_server)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        self.page.on("console", self._console)
        self.page.goto(f"{base}/console")

    def _only_the_server(self, route: Any) -> None:
        if route.request.url.startswith(self.base):
            route.continue_()
        else:
            self.foreign.append(route.request.url)
            route.abort()

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if message.type == "error" and not text.startswith((HTTP_ANSWER, REFUSED)):
            self.errors.append(text)

    def assert_clean(self) -> None:
        assert self.foreign == [], "requests to another origin"
        assert self.errors == [], "script errors"
        loaded = self.page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
        assert [url for url in loaded if not url.startswith(self.base)] == []

    def close(self) -> None:
        self.context.close()

    # the controls, by the names a screen reader announces
    def textbox(self, name: str) -> Locator:
        return self.page.get_by_role("textbox", name=name, exact=True)

    def button(self, name: str) -> Locator:
        return self.page.get_by_role("button", name=name, exact=True)

    def listed(self) -> Locator:
        return self.page.get_by_role("list", name="Keys").get_by_role("button")

    def expect_keys(self, keys: list[str], timeout: float = 5_000) -> None:
        expect(self.listed()).to_have_text(keys, timeout=timeout)

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        self.textbox("Username").fill(username)
        self.page.get_by_label("Password", exact=True).fill(password)
        self.button("Log in").click()
        expect(self.page.locator("#live")).to_have_text("Live")

    def token(self) -> str:
        saved = self.page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')")
        token: str = json.loads(saved)["token"]
        return token

    def list_prefix(self, prefix: str) -> None:
        self.textbox("Prefix").fill(prefix)
        self.button("List").click()

    def open(self, key: str) -> None:
        keys = self.page.get_by_role("list", name="Keys")
        keys.get_by_role("button", name=key, exact=True).click()
        expect(self.page.locator("#editor-title")).to_have_text(key)

    def notice(self) -> Locator:
        return self.page.locator("#editor-notice")

    def scrolls_sideways(self) -> bool:
        return bool(
            self.page.evaluate(
                "document.documentElement.scrollWidth > document.documentElement.clientWidth"
            )
        )


@pytest.fixture
def console(browser: Browser, server: ApiProcess) -> Iterator[Console]:
    page = Console(browser, server.base)
    yield page
    page.close()


def registered(server: ApiProcess, prefix: str = "ui") -> tuple[str, str]:
    username = unique_name(prefix)
    status, body = server.request(
        "POST", "/api/register", {"username": username, "password": PASSWORD}
    )
    assert status == 200, body
    return username, body["token"]


def write(server: ApiProcess, token: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    status, body = server.request("POST", "/api/write", {"data": data, **extra}, token=token)
    assert status == 200, body
    result: dict[str, Any] = body
    return result


def stored(server: ApiProcess, token: str, key: str) -> tuple[Any, dict[str, Any] | None]:
    body = {"keys": [key], "include": ["version", "expires_at"]}
    status, answer = server.request("POST", "/api/read", body, token=token)
    assert status == 200, answer
    if key not in answer["data"]:
        return None, None
    meta: dict[str, Any] = answer["meta"][key]
    return answer["data"][key], meta


def test_log_in_list_by_prefix_a_page_at_a_time_open_and_log_out(
    console: Console, server: ApiProcess
) -> None:
    username, token = registered(server)
    write(server, token, {f"page/{n:02}": n for n in range(25)})
    write(server, token, {"other/one": {"a": [1, 2.0, None], "big": 9007199254740993}})
    page = console.page
    expect(console.textbox("Username")).to_be_focused()
    console.log_in(username)
    expect(page.locator("#whoami")).to_have_text(username)
    expect(console.textbox("Prefix")).to_be_focused()
    expect(page.locator("#list-status")).to_have_text("Page 1: 20 keys, more follow")
    console.list_prefix("page/")
    expect(page.locator("#list-status")).to_have_text("Page 1: 20 keys, more follow")
    console.expect_keys([f"page/{n:02}" for n in range(20)])
    expect(console.button("Previous page")).to_be_disabled()
    console.button("Next page").click()
    expect(page.locator("#list-status")).to_have_text("Page 2: 5 keys")
    console.expect_keys([f"page/{n:02}" for n in range(20, 25)])
    expect(console.button("Next page")).to_be_disabled()
    console.button("Previous page").click()
    expect(page.locator("#list-status")).to_have_text("Page 1: 20 keys, more follow")
    console.button("Next page").click()
    console.button("First page").click()
    expect(page.locator("#list-status")).to_have_text("Page 1: 20 keys, more follow")
    console.list_prefix("nothing/")
    expect(page.locator("#list-status")).to_have_text("No key starts with “nothing/”.")

    console.list_prefix("other/")
    console.open("other/one")
    # pretty JSON, every digit as stored
    expected = '{\n  "a": [\n    1,\n    2.0,\n    null\n  ],\n  "big": 9007199254740993\n}'
    expect(console.textbox("Value")).to_have_value(expected)
    expect(page.locator("#meta-version")).to_have_text("1")
    expect(page.locator("#meta-expires")).to_have_text("never")
    expect(console.textbox("Key")).to_have_js_property("readOnly", True)

    used = console.token()
    console.button("Log out").click()
    expect(page.locator("#login-notice")).to_have_text("You have logged out.")
    expect(console.textbox("Username")).to_have_value(username)
    expect(page.locator("#app-view")).to_be_hidden()
    assert server.request("GET", "/api/users/me", token=used)[0] == 401, "token revoked"
    assert page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')") is None
    console.assert_clean()


def test_create_with_ttl_edit_and_a_conflict_then_delete(
    console: Console, server: ApiProcess
) -> None:
    username, token = registered(server)
    page = console.page
    console.log_in(username)
    console.button("New key").click()
    expect(console.textbox("Key")).to_be_focused()
    console.textbox("Key").fill("cart/42")
    console.textbox("Value").fill('{"items": ["apple"], "total": 18446744073709551615}')
    console.textbox("TTL in seconds").fill("3600")
    console.button("Save").click()
    expect(console.notice()).to_have_text("Saved: version 1.")
    value, meta = stored(server, token, "cart/42")
    assert value == {"items": ["apple"], "total": 18446744073709551615}
    assert meta is not None and meta["version"] == 1 and meta["expires_at"] is not None
    expect(page.locator("#meta-expires")).to_contain_text(meta["expires_at"])
    expect(page.locator("#meta-expires")).to_contain_text("(in 60 min)")
    console.expect_keys(["cart/42"])

    # edit: saved with if_version, the expiry kept
    console.textbox("Value").fill('{"items": ["apple", "pear"], "total": 18446744073709551615}')
    console.button("Save").click()
    expect(console.notice()).to_have_text("Saved: version 2.")
    value, meta = stored(server, token, "cart/42")
    assert value == {"items": ["apple", "pear"], "total": 18446744073709551615}
    assert meta is not None and meta["version"] == 2 and meta["expires_at"] is not None

    # someone else writes meanwhile: the edit stays, the save answers 409 and shows theirs
    console.textbox("Value").fill('{"items": ["mine"]}')
    write(server, token, {"cart/42": {"items": ["theirs"]}})
    expect(console.notice()).to_contain_text("Version 3 was saved elsewhere; your edit is kept")
    console.button("Save").click()
    conflict = page.locator("#conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_be_focused()
    expect(conflict).to_contain_text("version 3 is stored now")
    expect(page.locator("#conflict-value")).to_have_text('{\n  "items": [\n    "theirs"\n  ]\n}')
    expect(console.textbox("Value")).to_have_value('{"items": ["mine"]}')
    assert stored(server, token, "cart/42")[0] == {"items": ["theirs"]}, "nothing written"
    console.button("Save").click()  # the retry, over version 3
    expect(console.notice()).to_have_text("Saved: version 4.")
    expect(conflict).to_be_hidden()
    assert stored(server, token, "cart/42")[0] == {"items": ["mine"]}

    # not being edited, the key open follows a change elsewhere; being edited, a conflict
    # offers the stored value
    write(server, token, {"cart/42": "theirs again"})
    expect(console.textbox("Value")).to_have_value('"theirs again"')  # not edited: reloaded
    expect(console.notice()).to_have_text("Updated: version 5 was saved elsewhere.")
    console.textbox("Value").fill('"mine again"')
    write(server, token, {"cart/42": "and theirs"})
    console.button("Save").click()
    expect(conflict).to_be_visible()
    console.button("Take the stored value").click()
    expect(console.textbox("Value")).to_have_value('"and theirs"')
    expect(page.locator("#meta-version")).to_have_text("6")

    # delete, with a confirmation that can be declined
    console.button("Delete").click()
    dialog = page.get_by_role("dialog", name="Delete this key?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("“cart/42”")
    expect(console.button("Cancel")).to_be_focused()
    console.button("Cancel").click()
    expect(dialog).to_be_hidden()
    assert stored(server, token, "cart/42")[0] == "and theirs"
    console.button("Delete").click()
    console.button("Yes, delete").click()
    expect(page.locator("#list-status")).to_have_text("Deleted “cart/42”.")
    expect(page.locator("#editor-panel")).to_be_hidden()
    assert stored(server, token, "cart/42") == (None, None)
    expect(console.listed()).to_have_count(0)
    console.assert_clean()


def test_bad_input_shows_the_api_answer_next_to_its_field_and_keeps_it(
    console: Console, server: ApiProcess
) -> None:
    username, token = registered(server)
    page = console.page
    console.log_in(username)
    console.button("New key").click()
    console.textbox("Key").fill("settings")
    broken = '{\n  "theme": "dark",\n  "size": 12,\n}'
    console.textbox("Value").fill(broken)
    console.button("Save").click()
    value_error = page.locator("#value-error")
    expect(value_error).to_contain_text("not valid JSON")
    expect(value_error).to_contain_text("line 4 column 1")  # where it is in the editor's text
    expect(console.textbox("Value")).to_have_attribute("aria-invalid", "true")
    expect(console.textbox("Value")).to_be_focused()
    expect(console.textbox("Value")).to_have_value(broken)
    expect(console.textbox("Value")).to_have_accessible_description(
        'Any JSON value: "text", 42, [1, 2], {"a": true} ' + value_error.inner_text()
    )

    long_key = "k" * 1025
    console.textbox("Key").fill(long_key)
    console.textbox("Value").fill("1")
    console.button("Save").click()
    expect(page.locator("#key-error")).to_contain_text("longer than 1024 bytes")
    expect(value_error).to_have_text("")
    expect(console.textbox("Key")).to_have_attribute("aria-invalid", "true")
    expect(console.textbox("Key")).to_have_value(long_key)

    console.textbox("Key").fill("settings")
    console.textbox("TTL in seconds").fill("soon")
    console.button("Save").click()
    expect(page.locator("#ttl-error")).to_have_text("Not a valid integer.")
    console.textbox("TTL in seconds").fill("0")
    console.button("Save").click()
    expect(page.locator("#ttl-error")).to_contain_text("ttl")
    expect(console.textbox("TTL in seconds")).to_have_value("0")
    assert stored(server, token, "settings") == (None, None), "nothing was written"

    console.textbox("TTL in seconds").fill("")
    console.button("Save").click()
    expect(console.notice()).to_have_text("Saved: version 1.")
    expect(page.locator("#key-error")).to_have_text("")
    expect(page.locator("#ttl-error")).to_have_text("")
    console.assert_clean()


def test_register_and_its_refusals_from_the_api(console: Console, server: ApiProcess) -> None:
    page = console.page
    taken, _ = registered(server)
    console.textbox("Username").fill(taken)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    console.button("Register").click()
    expect(page.locator("#username-error")).to_contain_text("already exists")
    expect(console.textbox("Username")).to_have_attribute("aria-invalid", "true")
    console.textbox("Username").fill(unique_name("ui"))
    page.get_by_label("Password", exact=True).fill("short")
    console.button("Register").click()
    expect(page.locator("#password-error")).to_contain_text("8")
    expect(page.locator("#username-error")).to_have_text("")
    page.get_by_label("Password", exact=True).fill("wrong-password-9")
    console.button("Log in").click()
    expect(page.locator("#login-error")).to_contain_text("invalid username or password")

    fresh = unique_name("ui")
    console.textbox("Username").fill(fresh)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    console.button("Register").click()
    expect(page.locator("#whoami")).to_have_text(fresh)
    assert server.request("POST", "/api/login", {"username": fresh, "password": PASSWORD})[0] == 200
    console.assert_clean()


def test_closed_registration_is_said_with_the_api_message(console: Console) -> None:
    # The server under test has registration open; its documented refusal is played back.
    closed = {"error": {"code": "registration_closed", "message": "registration is closed"}}
    console.page.route(
        "**/api/register",
        lambda route: route.fulfill(status=403, json=closed),
    )
    console.textbox("Username").fill(unique_name("ui"))
    console.page.get_by_label("Password", exact=True).fill(PASSWORD)
    console.button("Register").click()
    expect(console.page.locator("#login-error")).to_have_text("registration is closed")
    expect(console.page.locator("#app-view")).to_be_hidden()
    console.assert_clean()


def test_changes_made_elsewhere_appear_live(console: Console, server: ApiProcess) -> None:
    username, token = registered(server)
    write(server, token, {"live/b": 1})
    console.log_in(username)
    console.list_prefix("live/")
    expect(console.page.locator("#list-status")).to_have_text("Page 1: 1 key")
    write(server, token, {"live/a": 1, "live/c": 2, "elsewhere": 3})
    expect(console.listed()).to_have_count(3)
    console.expect_keys(["live/a", "live/b", "live/c"])
    console.open("live/b")
    write(server, token, {"live/b": {"now": "changed"}})
    expect(console.textbox("Value")).to_have_value('{\n  "now": "changed"\n}')
    expect(console.page.locator("#meta-version")).to_have_text("2")
    status, _ = server.request("POST", "/api/delete", {"keys": ["live/b", "live/c"]}, token=token)
    assert status == 200
    expect(console.notice()).to_have_text("This key was deleted elsewhere.")
    expect(console.listed()).to_have_count(1)
    console.expect_keys(["live/a"])
    write(server, token, {"live/short": 1}, ttl=1)
    expect(console.listed()).to_have_count(2)
    expect(console.listed()).to_have_count(1, timeout=15_000)  # expired: the feed says so too
    console.assert_clean()


def test_a_lost_stream_reconnects_with_last_event_id(
    browser: Browser, tarantool: TarantoolProcess, tmp_path: Path
) -> None:
    env = {**tarantool_env(tarantool), "KV_LOG_LEVEL": "WARNING"}
    served = ApiProcess(tmp_path / "served", env).start()
    other = ApiProcess(tmp_path / "other", env).start()  # writes while the first is down
    console = Console(browser, served.base)
    try:
        watches: list[dict[str, str]] = []
        console.page.on(
            "request",
            lambda request: (
                watches.append(request.headers)
                if "/api/watch" in request.url and "timeout=0" not in request.url
                else None
            ),
        )
        username, token = registered(other)
        console.log_in(username)
        revision = write(other, token, {"first": 1})["revision"]
        expect(console.listed()).to_have_count(1)
        served.stop()
        expect(console.page.locator("#live")).to_have_text("Reconnecting…")
        write(other, token, {"while-down": 2})
        served.start()
        expect(console.page.locator("#live")).to_have_text("Live", timeout=45_000)
        expect(console.listed()).to_have_count(2)
        console.expect_keys(["first", "while-down"])
        assert "last-event-id" not in watches[0], "the first stream starts from `since`"
        resumed = [headers for headers in watches if "last-event-id" in headers]
        assert resumed and resumed[-1]["last-event-id"] == str(revision)
        console.assert_clean()
    finally:
        console.close()
        served.stop()
        other.stop()


def test_an_expired_or_revoked_token_sends_back_to_the_login_form(
    console: Console, server: ApiProcess
) -> None:
    page = console.page
    username, _ = registered(server)
    now = int(time.time())
    expired = jwt.encode(
        {"sub": "1", "iat": now - 100, "exp": now - 10, "iss": "kv-api"},
        CHEAP_ENV["KV_JWT_SECRET"],
        algorithm="HS256",
    )
    saved = {"username": username, "token": expired, "expiresAt": (now + 600) * 1000}
    page.evaluate(f"sessionStorage.setItem('{SESSION_KEY}', {json.dumps(json.dumps(saved))})")
    page.reload()
    expect(page.locator("#login-notice")).to_have_text(
        "Your session has ended (token has expired). Log in again."
    )
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    expect(console.textbox("Username")).to_have_value(username)

    console.log_in(username)  # the console's own clock: expiry a second from now
    saved = json.loads(page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')"))
    saved["expiresAt"] = int(time.time() * 1000) + 1000
    page.evaluate(f"sessionStorage.setItem('{SESSION_KEY}', {json.dumps(json.dumps(saved))})")
    page.reload()
    expect(page.locator("#login-notice")).to_have_text("Your session has expired. Log in again.")

    console.log_in(username)  # revoked elsewhere: the change feed ends the session at once
    assert server.request("POST", "/api/logout", token=console.token())[0] == 204
    expect(page.locator("#login-notice")).to_contain_text("Your session has ended")
    expect(page.locator("#app-view")).to_be_hidden()
    console.assert_clean()


def test_by_keyboard_alone(console: Console, server: ApiProcess) -> None:
    username, token = registered(server)
    write(server, token, {"kb/one": "first", "kb/two": "second"})
    keyboard = console.page.keyboard
    expect(console.textbox("Username")).to_be_focused()
    keyboard.type(username)
    keyboard.press("Tab")
    keyboard.type(PASSWORD)
    keyboard.press("Enter")
    expect(console.textbox("Prefix")).to_be_focused()
    keyboard.type("kb/")
    keyboard.press("Enter")
    expect(console.page.locator("#list-status")).to_have_text("Page 1: 2 keys")
    for _ in range(3):  # List, New key, the first key
        keyboard.press("Tab")
    expect(console.button("kb/one")).to_be_focused()
    keyboard.press("Tab")
    expect(console.button("kb/two")).to_be_focused()
    keyboard.press("Enter")
    expect(console.page.locator("#editor-title")).to_be_focused()
    expect(console.page.locator("#editor-title")).to_have_text("kb/two")
    console.textbox("Value").focus()
    keyboard.press("ControlOrMeta+a")
    keyboard.type('"typed"')
    keyboard.press("Tab")  # the ttl
    keyboard.press("Tab")
    expect(console.button("Save")).to_be_focused()
    keyboard.press("Enter")
    expect(console.notice()).to_have_text("Saved: version 2.")
    assert stored(server, token, "kb/two")[0] == "typed"
    console.button("Delete").focus()
    keyboard.press("Enter")
    expect(console.button("Cancel")).to_be_focused()
    keyboard.press("Escape")
    expect(console.page.get_by_role("dialog")).to_be_hidden()
    assert stored(server, token, "kb/two")[0] == "typed"
    console.assert_clean()


def test_every_control_has_an_accessible_name(console: Console, server: ApiProcess) -> None:
    page = console.page
    for name in ("Username",):
        expect(console.textbox(name)).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_be_visible()
    for name in ("Log in", "Register"):
        expect(console.button(name)).to_be_visible()
    username, token = registered(server)
    write(server, token, {"named": 1})
    console.log_in(username)
    for name in ("Log out", "List", "New key", "First page", "Previous page", "Next page"):
        expect(console.button(name)).to_be_visible()
    expect(console.textbox("Prefix")).to_be_visible()
    console.open("named")
    for name in ("Key", "Value", "TTL in seconds"):
        expect(console.textbox(name)).to_be_visible()
    for name in ("Save", "Delete", "Close"):
        expect(console.button(name)).to_be_visible()
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('input, textarea, button')]
            .filter(e => e.checkVisibility() && !(e.labels && e.labels.length)
                         && !e.textContent.trim() && !e.getAttribute('aria-label'))
            .map(e => e.outerHTML)"""
    )
    assert unnamed == []
    console.assert_clean()


def test_at_375_px_nothing_scrolls_sideways(browser: Browser, server: ApiProcess) -> None:
    console = Console(browser, server.base, width=375, height=740)
    try:
        assert not console.scrolls_sideways()
        username, token = registered(server)
        long_key = "narrow/" + "a-very-long-key-without-any-space-to-break-at-" * 4
        value = {"text": "word" * 200, "numbers": list(range(60)), "deep": {"deeper": [{}] * 5}}
        write(server, token, {long_key: value, "narrow/short": 1})
        console.log_in(username)
        assert not console.scrolls_sideways()
        console.open(long_key)
        assert not console.scrolls_sideways()
        console.button("Delete").click()
        expect(console.page.get_by_role("dialog")).to_be_visible()
        assert not console.scrolls_sideways()
        box = console.page.get_by_role("dialog").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        console.button("Cancel").click()
        console.textbox("Value").fill("{")
        console.button("Save").click()
        expect(console.page.locator("#value-error")).to_contain_text("not valid JSON")
        assert not console.scrolls_sideways()
        console.assert_clean()
    finally:
        console.close()


class _AppPages(BaseHTTPRequestHandler):
    """A page of another origin that calls the API with fetch."""

    page = b"<!DOCTYPE html><title>an app</title><p>another origin</p>"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, format: str, *args: Any) -> None:
        pass


_CALL_THE_API = """async ([base, username, password]) => {
  const login = await fetch(base + "/api/login", {method: "POST",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({username, password})});
  const {token} = await login.json();
  const auth = {Authorization: "Bearer " + token};
  const write = await fetch(base + "/api/write", {method: "POST",
    headers: {...auth, "Content-Type": "application/json"}, body: '{"data": {"cors": 1}}'});
  const {revision} = await write.json();
  const stream = await fetch(base + "/api/watch", {headers: {...auth,
    Accept: "text/event-stream", "Last-Event-ID": String(revision - 1)}});
  const reader = stream.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("id: " + revision)) {
    const {value, done} = await reader.read();
    if (done) break;
    text += value;
  }
  reader.cancel();
  return {status: login.status, requestId: login.headers.get("X-Request-ID"),
          written: write.status, streamed: text.includes('"key":"cors"')};
}"""


def test_a_page_of_a_listed_origin_calls_the_api_and_others_cannot(
    browser: Browser, server: ApiProcess, app_port: int
) -> None:
    username, _ = registered(server)
    pages = ThreadingHTTPServer(("127.0.0.1", app_port), _AppPages)
    thread = threading.Thread(target=pages.serve_forever, daemon=True)
    thread.start()
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{app_port}/")
        answer = page.evaluate(_CALL_THE_API, [server.base, username, PASSWORD])
        assert answer["status"] == 200 and answer["written"] == 200
        assert answer["requestId"], "X-Request-ID is exposed"
        assert answer["streamed"], "the event stream is readable, resumed with Last-Event-ID"
        page.goto(f"http://localhost:{app_port}/")  # another origin: not listed
        refused = page.evaluate(
            """async (base) => {
              try { await fetch(base + "/health"); return "read"; }
              catch (error) { return error.name; }
            }""",
            server.base,
        )
        assert refused == "TypeError"
    finally:
        context.close()
        pages.shutdown()
        pages.server_close()
        thread.join(timeout=5)


def test_screenshot(browser: Browser, server: ApiProcess, tmp_path: Path) -> None:
    username, token = registered(server, "alice")
    write(server, token, {"app/color": "teal", "app/limits": {"requests_per_minute": 600}})
    write(
        server,
        token,
        {
            "app/features": {
                "beta": True,
                "max_items": 250,
                "regions": ["eu-west", "us-east"],
                "rollout": {"percent": 12.5, "since": "2026-01-15"},
            }
        },
    )
    write(server, token, {"app/sessions/3f2a": {"user": "alice", "cart": 3}}, ttl=3600)
    write(server, token, {"users/alice": {"name": "Alice", "plan": "pro"}})
    console = Console(browser, server.base, width=1280, height=880)
    try:
        console.log_in(username)
        console.list_prefix("app/")
        console.open("app/features")
        console.page.mouse.move(0, 0)
        target = Path(os.environ.get("KV_CONSOLE_SCREENSHOT") or tmp_path / "console.png")
        console.page.screenshot(path=str(target))
        assert target.stat().st_size > 10_000
        console.assert_clean()
    finally:
        console.close()
