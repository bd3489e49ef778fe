"""A read's answer is bounded by what is sent (the JSON), not by what is stored: a control
character is one stored byte and six JSON bytes."""

from collections.abc import Awaitable, Callable

from tests.e2e.conftest import Client, bearer, register

LIMIT = 64 * 1024


async def test_a_read_whose_json_passes_the_bound_is_refused(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    api = await make_api(max_response_bytes=LIMIT)
    auth = bearer((await register(api))["token"])
    value = "\x01" * (LIMIT // 4)  # a quarter of the bound stored, six quarters as JSON
    data = {"a": value, "b": value}
    assert (await api.post("/api/write", json={"data": data}, headers=auth)).status == 200
    resp = await api.post("/api/read", json={"keys": ["a", "b"]}, headers=auth)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["code"] == "response_too_large"
    assert "fewer keys" in error["message"]


async def test_a_read_under_the_bound_is_answered_whole(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    api = await make_api(max_response_bytes=LIMIT)
    auth = bearer((await register(api))["token"])
    data = {"a": "\x01" * 1000, "b": [1, {"c": None}], "é": "ü"}
    assert (await api.post("/api/write", json={"data": data}, headers=auth)).status == 200
    resp = await api.post("/api/read", json={"keys": ["a", "b", "é", "zz"]}, headers=auth)
    assert resp.status == 200
    assert await resp.json() == {"data": data, "not_found": ["zz"]}
