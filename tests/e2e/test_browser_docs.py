"""Swagger UI in a real headless Chromium (Debian's, never a downloaded one): the page renders
every operation from packaged assets, and "Authorize" + "Try it out" work against the server.

Set KV_DOCS_SCREENSHOT=docs/swagger.png to refresh the README screenshot."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from kv_api.infrastructure.settings import Settings
from kv_api.presentation.openapi import build_openapi
from tests.conftest import unique_name
from tests.support.server import ApiProcess, tarantool_env
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
PASSWORD = "browser-password-1"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="needs Debian's chromium (`make test` installs it); required when CI is set",
    ),
]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, tarantool: TarantoolProcess
) -> Iterator[ApiProcess]:
    env = {
        **tarantool_env(tarantool),
        "KV_LOG_LEVEL": "WARNING",
    }
    api = ApiProcess(tmp_path_factory.mktemp("docs") / "data", env)
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


@pytest.fixture
def page(browser: Browser, server: ApiProcess) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    # Offline: every request that would leave the server under test is aborted.
    context.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(server.base) else route.abort()
        ),
    )
    page = context.new_page()
    page.goto(f"{server.base}/docs")
    page.wait_for_selector(".opblock")
    yield page
    context.close()


def rendered_operations(page: Page) -> set[tuple[str, str]]:
    rows = page.eval_on_selector_all(
        ".opblock-summary",
        """rows => rows.map(row => [
            row.querySelector(".opblock-summary-method").textContent.trim().toLowerCase(),
            row.querySelector(".opblock-summary-path").getAttribute("data-path"),
        ])""",
    )
    return {(method, path) for method, path in rows}


def test_every_route_is_rendered_from_local_assets(
    page: Page, server: ApiProcess, tmp_path: Path
) -> None:
    document = build_openapi(Settings())
    expected = {(method, path) for path, item in document["paths"].items() for method in item}
    assert rendered_operations(page) == expected
    assert page.locator(".info .title").inner_text().startswith("KV API")
    loaded = page.evaluate("performance.getEntriesByType('resource').map(entry => entry.name)")
    assert loaded
    assert [url for url in loaded if not url.startswith(server.base)] == []
    target = Path(os.environ.get("KV_DOCS_SCREENSHOT") or tmp_path / "swagger.png")
    models = page.locator("section.models").bounding_box()
    assert models is not None
    clip = {"x": 0, "y": 0, "width": 1280, "height": models["y"]}
    page.screenshot(path=str(target), full_page=True, clip=clip)  # every operation, no models
    assert target.stat().st_size > 10_000


def authorize(page: Page, token: str) -> None:
    page.click("button.authorize")
    page.fill(".modal-ux input", token)
    page.click(".modal-ux .auth-btn-wrapper button.authorize")
    page.click(".modal-ux button.btn-done")


def try_get_profile(
    page: Page, operation_id: str = "operations-users-getProfile"
) -> tuple[str, str]:
    operation = page.locator(f"#{operation_id}")
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status")
    status.wait_for()
    body = operation.locator(".live-responses-table .response-col_description .highlight-code pre")
    return status.inner_text().strip(), body.inner_text()


def test_authorize_and_try_it_out_against_the_server(page: Page, server: ApiProcess) -> None:
    username = unique_name("ui")
    status, registered = server.request(
        "POST", "/api/register", {"username": username, "password": PASSWORD}
    )
    assert status == 200, registered
    token = registered["token"]
    authorize(page, token)
    status, body = try_get_profile(page)
    assert status == "200"
    assert username in body
    page.goto(f"{server.base}/docs")  # a fresh load: only localStorage survives
    page.wait_for_selector(".opblock")
    assert page.locator("button.authorize.locked").count() == 1, "authorization not persisted"
    status, body = try_get_profile(page)
    assert status == "200"
    assert username in body


def test_try_it_out_without_a_token_shows_the_json_401(page: Page) -> None:
    status, body = try_get_profile(page)
    assert status == "401"
    assert '"code": "unauthorized"' in body


def test_the_users_routes_are_tried_out_in_the_browser(page: Page, server: ApiProcess) -> None:
    username = unique_name("ui")
    body = {"username": username, "password": PASSWORD}
    assert server.request("POST", "/api/register", body)[0] == 200
    status, logged_in = server.request("POST", "/users/login", body)
    assert status == 200, logged_in
    authorize(page, logged_in["access_token"])
    status, shown = try_get_profile(page, "operations-user-management-getUser")
    assert status == "200"
    assert username in shown and "registration_date" in shown
