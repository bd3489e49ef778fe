"""The verifier remembers verified tokens, never a rejected one, and never past expiry."""

from typing import Any

import jwt
import pytest

from kv_api.application.errors import Unauthenticated
from kv_api.infrastructure.security.verifier import JwtTokenVerifier
from tests.unit.conftest import JWT_NOW, FakeClock

SECRET = "unit-test-secret-" + "x" * 64
ISSUER = "kv-api"
NOW = JWT_NOW


def token(**claims: Any) -> str:
    base = {"sub": "1", "ver": 0, "jti": "j1", "iat": int(NOW), "exp": int(NOW) + 60}
    return jwt.encode({"iss": ISSUER, **base, **claims}, SECRET, algorithm="HS256")


@pytest.fixture
def clock(jwt_clock: FakeClock) -> FakeClock:
    return jwt_clock


def test_returns_claims_and_a_copy_each_time(clock: FakeClock) -> None:
    verifier = JwtTokenVerifier(SECRET, ISSUER, clock=clock)
    text = token()
    first = verifier.claims(text)
    first["sub"] = "tampered"
    assert verifier.claims(text)["sub"] == "1"


def test_a_remembered_token_still_expires(clock: FakeClock) -> None:
    verifier = JwtTokenVerifier(SECRET, ISSUER, clock=clock)
    text = token()
    verifier.claims(text)
    clock.now = NOW + 60
    with pytest.raises(Unauthenticated, match="token has expired"):
        verifier.claims(text)


@pytest.mark.parametrize(
    "bad",
    [
        token()[:-2] + "xx",
        jwt.encode({"sub": "1", "exp": int(NOW) + 60, "iss": "other"}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "1", "exp": int(NOW) + 60, "iss": ISSUER}, SECRET + "x"),
        jwt.encode({"sub": "1", "exp": int(NOW) + 60, "iss": ISSUER}, SECRET, algorithm="HS512"),
    ],
    ids=["signature", "issuer", "secret", "algorithm"],
)
def test_rejects_bad_tokens_every_time(clock: FakeClock, bad: str) -> None:
    verifier = JwtTokenVerifier(SECRET, ISSUER, clock=clock)
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="invalid or missing bearer token"):
            verifier.claims(bad)


def test_forgets_the_oldest_when_full(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = JwtTokenVerifier(SECRET, ISSUER, remembered=2, clock=clock)
    first, second, third = token(jti="a"), token(jti="b"), token(jti="c")
    for text in (first, second, third):
        verifier.claims(text)
    decoded: list[str] = []
    real_decode = jwt.decode

    def counting_decode(text: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(text)
        return real_decode(text, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    for text in (third, second, first):
        verifier.claims(text)
    assert decoded == [first]
