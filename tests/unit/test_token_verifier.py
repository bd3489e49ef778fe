"""The one cache of verified tokens: only our claims, never past expiry, the oldest out first.
It is keyed by the credential as sent; plain strings stand in for Authorization headers."""

from typing import Any

import pytest

from kv_api.application.errors import Unauthenticated
from kv_api.infrastructure.security.verifier import RememberedTokens
from tests.unit.conftest import JWT_NOW, FakeClock

SECRET = "unit-test-secret-" + "x" * 64
ISSUER = "kv-api"
EXPIRES_AT = int(JWT_NOW) + 60


def claims(**changes: Any) -> dict[str, Any]:
    base = {"sub": "1", "ver": 0, "jti": "j1", "iat": int(JWT_NOW), "exp": EXPIRES_AT}
    return {"iss": ISSUER, **base, **changes}


@pytest.fixture
def tokens() -> RememberedTokens:
    clock = FakeClock()
    return RememberedTokens(SECRET, ISSUER, remembered=2, clock=clock)


def test_the_check_pins_hs256_and_the_issuer_and_hides_the_secret(
    tokens: RememberedTokens,
) -> None:
    assert (tokens.check.algorithm, tokens.check.issuer) == ("HS256", ISSUER)
    assert tokens.check.secret == SECRET
    assert SECRET not in repr(tokens.check)


def test_an_accepted_token_is_remembered_with_its_session(tokens: RememberedTokens) -> None:
    assert tokens.session_of("t") is None
    session = tokens.accept("t", claims(sub="7", ver=3, jti="abc"))
    assert (session.user_id, session.token_version, session.token_id) == (7, 3, "abc")
    assert session.expires_at == EXPIRES_AT
    assert tokens.session_of("t") == session


def test_a_remembered_token_is_forgotten_once_it_expires() -> None:
    clock = FakeClock()
    tokens = RememberedTokens(SECRET, ISSUER, clock=clock)
    tokens.accept("t", claims())
    clock.now = EXPIRES_AT - 0.001
    assert tokens.session_of("t") is not None
    clock.now = EXPIRES_AT
    assert tokens.session_of("t") is None
    clock.now = JWT_NOW  # gone for good, not merely hidden
    assert tokens.session_of("t") is None


@pytest.mark.parametrize(
    "changes",
    [{"jti": None}, {"sub": "admin"}, {"exp": EXPIRES_AT + 0.5}, {"ver": "0"}, {"sub": None}],
    ids=["no_jti", "text_sub", "float_exp", "string_ver", "no_sub"],
)
def test_claims_that_are_not_ours_are_refused_and_not_remembered(
    tokens: RememberedTokens, changes: dict[str, Any]
) -> None:
    bad = {k: v for k, v in claims(**changes).items() if v is not None}
    with pytest.raises(Unauthenticated):
        tokens.accept("t", bad)
    assert tokens.session_of("t") is None


def test_forgets_the_oldest_when_full(tokens: RememberedTokens) -> None:
    for token in ("first", "second", "third"):
        tokens.accept(token, claims(jti=token))
    assert tokens.session_of("first") is None
    assert tokens.session_of("second") is not None
    assert tokens.session_of("third") is not None


def test_accepting_a_remembered_token_again_evicts_nothing(tokens: RememberedTokens) -> None:
    tokens.accept("first", claims(jti="a"))
    tokens.accept("second", claims(jti="b"))
    tokens.accept("second", claims(jti="b"))
    assert tokens.session_of("first") is not None
