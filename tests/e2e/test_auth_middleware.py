"""aiohttp-jwt verifies every token it has not seen; a verified one is not decoded again, and
storage still checks its session on every call."""

from typing import Any

import aiohttp_jwt.middleware
import pytest

from tests.e2e.conftest import Client, bearer, register


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = aiohttp_jwt.middleware.jwt.decode

    def counting(token: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(token.decode() if isinstance(token, bytes) else token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(aiohttp_jwt.middleware.jwt, "decode", counting)
    return seen


async def test_aiohttp_jwt_decodes_each_new_token_once(api: Client, decodes: list[str]) -> None:
    first = (await register(api))["token"]
    second = (await register(api))["token"]

    for token in (first, first, second, first, second):
        resp = await api.get("/api/users/me", headers=bearer(token))
        assert resp.status == 200

    assert decodes == [first, second]


async def test_a_tampered_copy_of_a_remembered_token_is_still_refused(
    api: Client, decodes: list[str]
) -> None:
    token = (await register(api))["token"]
    assert (await api.get("/api/users/me", headers=bearer(token))).status == 200
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"

    resp = await api.get("/api/users/me", headers=bearer(forged))

    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert decodes == [token, forged]


async def test_logout_refuses_a_remembered_token_at_once(api: Client, decodes: list[str]) -> None:
    token = (await register(api))["token"]
    for _ in range(2):
        assert (await api.get("/api/users/me", headers=bearer(token))).status == 200
    assert (await api.post("/api/logout", headers=bearer(token))).status == 204

    resp = await api.get("/api/users/me", headers=bearer(token))

    assert resp.status == 401
    assert decodes == [token]  # refused by storage's session check, not by a second decode
