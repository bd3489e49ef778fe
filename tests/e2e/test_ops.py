from typing import Any

from tests.e2e.conftest import Client


async def test_health_is_ok(api: Client) -> None:
    resp = await api.get("/health")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}


async def test_ready_when_tarantool_answers(api: Client) -> None:
    resp = await api.get("/ready")
    assert resp.status == 200


async def test_unknown_route_is_json_404(api: Client) -> None:
    resp = await api.get("/no/such/route")
    assert resp.status == 404
    assert resp.content_type == "application/json"
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_wrong_method_is_json_405(api: Client, auth: dict[str, str]) -> None:
    resp = await api.get("/api/write", headers=auth)
    assert resp.status == 405
    assert resp.headers["Allow"] == "POST"
    body: dict[str, Any] = await resp.json()
    assert body["error"]["code"] == "method_not_allowed"


async def test_wrong_method_without_token_is_still_405(api: Client) -> None:
    resp = await api.delete("/api/login")
    assert resp.status == 405
    assert (await resp.json())["error"]["code"] == "method_not_allowed"
