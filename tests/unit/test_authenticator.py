"""The edge's authenticator: a header seen before skips parsing and decoding, never expiry."""

from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from kv_api.application.errors import Unauthenticated
from kv_api.infrastructure.security.verifier import JwtTokenVerifier
from kv_api.presentation.http.auth import Authenticator, current_session
from tests.unit.conftest import JWT_NOW, FakeClock

SECRET = "unit-test-secret-" + "x" * 64
ISSUER = "kv-api"


def token(exp_in: int = 60, **claims: Any) -> str:
    now = int(JWT_NOW)
    base = {"sub": "7", "ver": 0, "jti": "j" * 16, "iat": now, "exp": now + exp_in, "iss": ISSUER}
    return jwt.encode({**base, **claims}, SECRET, algorithm="HS256")


async def served(auth: Authenticator, header: str) -> Any:
    request = make_mocked_request("GET", "/api/me", headers={"Authorization": header})

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response({"user": current_session(request).user_id})

    return await auth(request, handler)


@pytest.fixture
def clock(jwt_clock: FakeClock) -> FakeClock:
    return jwt_clock


@pytest.fixture
def auth(clock: FakeClock) -> Authenticator:
    return Authenticator(JwtTokenVerifier(SECRET, ISSUER, clock=clock), SECRET, ISSUER, [])


async def test_a_known_header_is_answered_without_decoding_again(
    auth: Authenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = "Bearer " + token()
    assert (await served(auth, header)).status == 200

    def no_decoding(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("decoded again")

    monkeypatch.setattr(jwt, "decode", no_decoding)
    assert (await served(auth, header)).status == 200
    assert (await served(auth, header)).text == '{"user": 7}'


async def test_a_known_header_is_refused_once_its_token_expires(
    auth: Authenticator, clock: FakeClock
) -> None:
    header = "Bearer " + token(exp_in=30)
    assert (await served(auth, header)).status == 200
    clock.now += 31
    with pytest.raises(Unauthenticated, match="expired"):
        await served(auth, header)


async def test_a_rejected_header_is_never_remembered(auth: Authenticator) -> None:
    forged = "Bearer " + token()[:-4] + "AAAA"
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await served(auth, forged)


async def test_claims_that_are_not_ours_are_refused_and_not_remembered(
    auth: Authenticator,
) -> None:
    header = "Bearer " + token(sub="not-a-number")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await served(auth, header)
