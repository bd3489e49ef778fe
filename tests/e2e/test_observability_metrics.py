"""GET /metrics: request counters by route template, latency, keys, batches, failures."""

from collections.abc import Awaitable, Callable
from typing import Any

from kv_api.infrastructure.settings import TarantoolAddress
from kv_api.infrastructure.tarantool.managed import free_port
from tests.conftest import unique_name
from tests.e2e.conftest import Client, bearer, register
from tests.e2e.observability import label_values, scrape, value

REQUESTS = "kv_http_requests_total"


async def test_requests_are_counted_by_route_template_and_status(
    api: Client, auth: dict[str, str]
) -> None:
    assert (
        await api.post("/api/write", json={"data": {"a": 1, "b": 2}}, headers=auth)
    ).status == 200
    assert (await api.post("/api/write", json={"data": []}, headers=auth)).status == 400
    assert (await api.post("/api/read", json={"keys": ["a", "x"]}, headers=auth)).status == 200
    assert (
        await api.post("/api/delete", json={"keys": ["a", "b", "c"]}, headers=auth)
    ).status == 200
    assert (await api.get("/no/such/path-7f3a")).status == 404
    assert (await api.post("/api/read", json={"keys": ["a"]})).status == 401

    samples = await scrape(api)

    assert value(samples, REQUESTS, route="/api/register", method="POST", status="200") == 1
    assert value(samples, REQUESTS, route="/api/write", method="POST", status="200") == 1
    assert value(samples, REQUESTS, route="/api/write", method="POST", status="400") == 1
    assert value(samples, REQUESTS, route="/api/read", method="POST", status="200") == 1
    assert value(samples, REQUESTS, route="/api/read", method="POST", status="401") == 1
    assert value(samples, REQUESTS, route="unmatched", method="GET", status="404") == 1
    assert not any("path-7f3a" in label for label in label_values(samples))
    latency = "kv_http_request_duration_seconds_count"
    assert value(samples, latency, route="/api/write", method="POST") == 2
    assert value(samples, "kv_keys_total", operation="written") == 2
    assert value(samples, "kv_keys_total", operation="read") == 1
    assert value(samples, "kv_keys_total", operation="deleted") == 2
    assert value(samples, "kv_batch_size_count", operation="write") == 1
    assert value(samples, "kv_batch_size_sum", operation="delete") == 3
    assert value(samples, "kv_batch_size_bucket", operation="read", le="2.0") == 1


async def test_the_scrape_itself_is_counted_and_tarantool_shows_connected(api: Client) -> None:
    await scrape(api)
    samples = await scrape(api)
    assert value(samples, REQUESTS, route="/metrics", method="GET", status="200") == 1
    connected = [v for (name, _), v in samples.items() if name == "kv_tarantool_connected"]
    assert connected == [1.0]


async def test_unknown_methods_share_one_label(api: Client) -> None:
    assert (await api.request("PROPFIND", "/health")).status == 405
    samples = await scrape(api)
    assert value(samples, REQUESTS, route="unmatched", method="OTHER", status="405") == 1
    assert "PROPFIND" not in label_values(samples)


async def test_login_failures_and_rate_limit_hits(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    api = await make_api(login_max_failures=1)
    user = await register(api)
    statuses = []
    for _ in range(2):
        body = {"username": user["username"], "password": "wrong-password-1"}
        statuses.append((await api.post("/api/login", json=body)).status)
    samples = await scrape(api)
    assert statuses[1] == 429  # the first failure (or an earlier one from this address) trips it
    assert value(samples, "kv_login_failures_total") == statuses.count(401)
    assert value(samples, "kv_login_rate_limited_total") == statuses.count(429)


async def test_storage_errors_and_503_when_tarantool_is_unreachable(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    nowhere = TarantoolAddress("127.0.0.1", free_port())
    api = await make_api(tarantool=nowhere, connect_timeout=0.2)
    token: Any = "x.y.z"
    resp = await api.post("/api/register", json={"username": unique_name(), "password": "p" * 10})
    assert resp.status == 503
    assert (await api.post("/api/read", json={"keys": ["k"]}, headers=bearer(token))).status == 401

    samples = await scrape(api)
    assert value(samples, REQUESTS, route="/api/register", method="POST", status="503") == 1
    unavailable = sum(
        v
        for (name, labels), v in samples.items()
        if name == "kv_storage_errors_total" and ("kind", "unavailable") in labels
    )
    assert unavailable >= 1
    assert value(samples, "kv_tarantool_connected", role="primary", index="0") == 0
