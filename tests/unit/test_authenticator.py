"""The edge's authenticator: aiohttp-jwt checks each new token once; a remembered token
skips the decode but never its expiry, and a rejected one is never remembered."""

import warnings
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from aiohttp.web_urldispatcher import UrlMappingMatchInfo
from jwt.warnings import InsecureKeyLengthWarning

from kv_api.application.errors import Unauthenticated
from kv_api.infrastructure.security.verifier import RememberedTokens
from kv_api.presentation.http.auth import Authenticator, current_session
from tests.unit.conftest import JWT_NOW, FakeClock

SECRET = "unit-test-secret-" + "x" * 64
ISSUER = "kv-api"


def token(exp_in: int = 60, **claims: Any) -> str:
    now = int(JWT_NOW)
    base = {"sub": "7", "ver": 0, "jti": "j" * 16, "iat": now, "exp": now + exp_in, "iss": ISSUER}
    return jwt.encode({**base, **claims}, SECRET, algorithm="HS256")


async def whoami(request: web.Request) -> web.StreamResponse:
    return web.json_response({"user": current_session(request).user_id})


async def passed(auth: Authenticator, request: web.Request, handler: Any) -> Any:
    """As the edge middleware asks: the plain check, then the full one when that says so."""
    if not auth.known(request):
        await auth.verify(request)
    return await handler(request)


def routed(method: str, path: str, headers: dict[str, str] | None = None) -> web.Request:
    """A request as the router leaves it: matched to a route of its path."""
    request = make_mocked_request(method, path, headers=headers)
    route = web.UrlDispatcher().add_route(method, path, whoami)
    request._match_info = UrlMappingMatchInfo({}, route)  # what routing sets
    return request


async def served(auth: Authenticator, header: str | None, handler: Any = whoami) -> Any:
    headers = {} if header is None else {"Authorization": header}
    return await passed(auth, routed("GET", "/api/me", headers), handler)


@pytest.fixture
def clock(jwt_clock: FakeClock) -> FakeClock:
    return jwt_clock


@pytest.fixture
def auth(clock: FakeClock) -> Authenticator:
    return Authenticator(RememberedTokens(SECRET, ISSUER, clock=clock), ["/health"])


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token PyJWT decodes (aiohttp-jwt calls it as `jwt.decode`)."""
    seen: list[str] = []
    real = jwt.decode

    def counting(text: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(text.decode() if isinstance(text, bytes) else text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return seen


async def test_each_new_token_is_decoded_once(auth: Authenticator, decodes: list[str]) -> None:
    first, second = token(jti="a" * 16), token(jti="b" * 16)
    for text in (first, first, second, first, second):
        assert (await served(auth, "Bearer " + text)).text == '{"user": 7}'
    assert decodes == [first, second]


@pytest.mark.parametrize("scheme", ["Bearer ", "bearer ", "bEaReR  ", ""])
async def test_the_scheme_is_case_insensitive_and_optional(
    auth: Authenticator, decodes: list[str], scheme: str
) -> None:
    text = token()
    for _ in range(2):
        assert (await served(auth, scheme + text)).text == '{"user": 7}'
    assert decodes == [text]


async def test_a_remembered_token_is_refused_once_it_expires(
    auth: Authenticator, clock: FakeClock
) -> None:
    header = "Bearer " + token(exp_in=30)
    assert (await served(auth, header)).status == 200
    clock.now += 30
    with pytest.raises(Unauthenticated, match="token has expired"):
        await served(auth, header)


def hs512() -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode({"sub": "7", "iss": ISSUER}, SECRET, algorithm="HS512")


@pytest.mark.parametrize(
    "bad",
    [
        lambda: token()[:-4] + "AAAA",
        lambda: token(iss="someone-else"),
        lambda: jwt.encode({"sub": "7", "iss": ISSUER}, SECRET + "x", algorithm="HS256"),
        hs512,
        lambda: token(sub="not-a-number"),
        lambda: token(jti=5),
    ],
    ids=["signature", "issuer", "secret", "algorithm", "text_sub", "int_jti"],
)
async def test_a_rejected_token_is_refused_every_time_and_never_remembered(
    auth: Authenticator, decodes: list[str], bad: Any
) -> None:
    text = bad()
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await served(auth, "Bearer " + text)
    assert decodes == [text, text]


async def test_a_tampered_copy_of_a_remembered_token_is_refused(auth: Authenticator) -> None:
    text = token()
    assert (await served(auth, "Bearer " + text)).status == 200
    head, payload, signature = text.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'BB' if signature.endswith('AA') else 'AA'}"
    with pytest.raises(Unauthenticated, match="invalid"):
        await served(auth, "Bearer " + forged)


@pytest.mark.parametrize("error", [web.HTTPUnauthorized, web.HTTPForbidden])
async def test_a_handlers_own_401_or_403_is_not_taken_for_a_token_failure(
    auth: Authenticator, error: type[web.HTTPException]
) -> None:
    async def refusing(request: web.Request) -> web.StreamResponse:
        raise error()

    header = "Bearer " + token()
    for _ in range(2):  # first with the full check, then remembered
        with pytest.raises(error):
            await served(auth, header, refusing)


@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwYXNz", "Bearer a.b.c extra"])
async def test_a_missing_or_malformed_header_is_refused(
    auth: Authenticator, header: str | None
) -> None:
    with pytest.raises(Unauthenticated):
        await served(auth, header)


async def test_public_paths_and_preflights_need_no_token(auth: Authenticator) -> None:
    async def ok(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    assert auth.known(routed("GET", "/health"))
    assert auth.known(routed("OPTIONS", "/api/me"))
    assert not auth.known(routed("GET", "/api/me"))
    assert (await passed(auth, routed("GET", "/health"), ok)).text == "ok"


@pytest.mark.parametrize("header", ["Basic {}", "Token {}", "Bearer {} extra", "Bearer: {}"])
async def test_a_remembered_token_under_another_scheme_is_refused(
    auth: Authenticator, header: str
) -> None:
    text = token()
    assert (await served(auth, "Bearer " + text)).status == 200
    with pytest.raises(Unauthenticated, match="must be 'Bearer <token>'"):
        await served(auth, header.format(text))
