"""Small helpers shared by the key-value e2e tests."""

from typing import Any

from tests.e2e.conftest import Client


async def post(api: Client, path: str, auth: dict[str, str], body: Any) -> tuple[int, Any]:
    resp = await api.post(path, json=body, headers=auth)
    assert resp.content_type == "application/json", await resp.text()
    return resp.status, await resp.json()


async def post_raw(
    api: Client, path: str, auth: dict[str, str], body: bytes | str
) -> tuple[int, Any]:
    headers = {**auth, "Content-Type": "application/json"}
    resp = await api.post(path, data=body, headers=headers)
    assert resp.content_type == "application/json", await resp.text()
    return resp.status, await resp.json()


async def write(api: Client, auth: dict[str, str], data: Any, **extra: Any) -> Any:
    status, body = await post(api, "/api/write", auth, {"data": data, **extra})
    assert status == 200, body
    return body


async def read(api: Client, auth: dict[str, str], keys: list[str]) -> Any:
    status, body = await post(api, "/api/read", auth, {"keys": keys})
    assert status == 200, body
    return body


def error_code(body: Any) -> str:
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    code: str = body["error"]["code"]
    return code
