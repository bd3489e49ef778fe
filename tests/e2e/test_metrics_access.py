"""GET /metrics: optionally behind a scrape token, and never a credential or internal address."""

from collections.abc import Awaitable, Callable

from kv_api.infrastructure.settings import Settings
from tests.e2e.conftest import Client, bearer
from tests.e2e.observability import parse_metrics, value

SCRAPE_TOKEN = "scrape-token-0123456789abcdef"


async def test_metrics_show_no_tarantool_address_or_credentials(
    make_api: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> None:
    api = await make_api()
    resp = await api.get("/metrics")
    text = await resp.text()
    assert resp.status == 200
    samples = parse_metrics(text)
    assert value(samples, "kv_tarantool_connected", role="primary", index="0") == 1
    assert "127.0.0.1:" not in text
    assert "address=" not in text
    settings = make_settings()
    for secret in (settings.tarantool_password, settings.jwt_secret):
        assert secret and secret not in text


async def test_metrics_need_the_scrape_token_when_one_is_set(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    api = await make_api(metrics_token=SCRAPE_TOKEN)
    for headers in ({}, bearer("wrong-token"), bearer(SCRAPE_TOKEN + "x"), {"Authorization": ""}):
        resp = await api.get("/metrics", headers=headers)
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"] == "Bearer"
        assert (await resp.json())["error"]["code"] == "unauthorized"
    ok = await api.get("/metrics", headers=bearer(SCRAPE_TOKEN))
    assert ok.status == 200
    assert "kv_http_requests_total" in await ok.text()
