import base64
import logging
import time
import warnings
from typing import Any

import jwt
import orjson
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from tests.conftest import TEST_SECRET
from tests.e2e.conftest import Client, bearer

PROTECTED = [
    ("GET", "/api/users/me", None),
    ("POST", "/api/read", {"keys": ["k"]}),
    ("POST", "/api/logout", None),
]


def claims_of(user: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(
        user["token"], TEST_SECRET, algorithms=["HS256"], issuer="kv-api"
    )
    return decoded


def forge(claims: dict[str, Any], secret: str = TEST_SECRET, **kwargs: Any) -> str:
    return jwt.encode(claims, secret, algorithm=kwargs.pop("algorithm", "HS256"), **kwargs)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def relabelled(claims: dict[str, Any], alg: str) -> str:
    """An HS256 signature under a header that names another algorithm."""
    signature = forge(claims).rsplit(".", 1)[1]
    return f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(claims)}.{signature}"


async def assert_rejected(api: Client, headers: dict[str, str]) -> None:
    for method, path, body in PROTECTED:
        resp = await api.request(method, path, json=body, headers=headers)
        assert resp.status == 401, (path, headers, await resp.text())
        assert resp.headers["WWW-Authenticate"] == "Bearer"
        assert resp.content_type == "application/json"
        error = (await resp.json())["error"]
        assert error["code"] in {"unauthorized", "invalid_token"}
        assert error["message"]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearerx {token}",
        "Bearer: {token}",
        "Token {token}",
        "Bearer {token} extra",
        "Basic dXNlcjpwYXNzd29yZA==",
        "garbage",
        "Bearer garbage",
        "Bearer a.b.c",
        "Bearer {token}x",
        "Bearer {token}.",
        "{token}{token}",
    ],
)
async def test_malformed_authorization_is_401(
    api: Client, user: dict[str, Any], header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header.format(token=user["token"])}
    await assert_rejected(api, headers)


@pytest.mark.parametrize("scheme", ["Bearer ", "bearer ", "BEARER ", "bEaReR  ", ""])
async def test_scheme_is_case_insensitive_and_optional(
    api: Client, user: dict[str, Any], scheme: str
) -> None:
    resp = await api.get("/api/users/me", headers={"Authorization": scheme + user["token"]})
    assert resp.status == 200
    assert (await resp.json())["username"] == user["username"]


def other_secret(claims: dict[str, Any]) -> str:
    return forge(claims, secret="another-secret-that-is-also-32-bytes-long")


def hs512(claims: dict[str, Any]) -> str:
    """Signed with the right secret, but with an algorithm the server does not accept."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return forge(claims, algorithm="HS512")


def rs256_shaped(claims: dict[str, Any]) -> str:
    """What an RS256 token looks like: 256 signature bytes under an RS256 header."""
    signature = base64.urlsafe_b64encode(bytes(range(256))).rstrip(b"=").decode()
    return f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{b64(claims)}.{signature}"


def without(*names: str) -> Any:
    return lambda claims: forge({k: v for k, v in claims.items() if k not in names})


def changed(**values: Any) -> Any:
    return lambda claims: forge({**claims, **values})


ATTACKS = {
    "forged_signature": other_secret,
    "alg_none": unsigned,
    "hs512": hs512,
    "hs256_labelled_hs512": lambda claims: relabelled(claims, "HS512"),
    "hs256_labelled_rs256": lambda claims: relabelled(claims, "RS256"),
    "rs256": rs256_shaped,
    "expired": lambda claims: forge({**claims, "exp": int(time.time()) - 60}),
    "no_exp": without("exp"),
    "no_jti": without("jti"),
    "no_ver": without("ver"),
    "no_sub": without("sub"),
    "no_iss": without("iss"),
    "wrong_iss": changed(iss="someone-else"),
    "huge_sub": changed(sub=str(2**70)),
    "huge_int_sub": changed(sub=2**70),
    "negative_sub": changed(sub="-1"),
    "text_sub": changed(sub="admin"),
    "huge_ver": changed(ver=2**70),
    "string_ver": changed(ver="0"),
    "next_ver": changed(ver=1),
    "huge_exp": changed(exp=2**70),
    "float_exp": changed(exp=time.time() + 600),
    "long_jti": changed(jti="j" * 65),
    "int_jti": changed(jti=5),
    "other_user": changed(sub="999999999999"),
    "future_iat": changed(iat=int(time.time()) + 3600),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_tampered_token_is_401(api: Client, user: dict[str, Any], attack: str) -> None:
    token = ATTACKS[attack](claims_of(user))
    await assert_rejected(api, bearer(token))
    await assert_rejected(api, {"Authorization": token})


async def test_genuine_token_still_works_after_attacks(api: Client, user: dict[str, Any]) -> None:
    await assert_rejected(api, bearer(ATTACKS["no_jti"](claims_of(user))))
    resp = await api.get("/api/users/me", headers=bearer(forge(claims_of(user))))
    assert resp.status == 200


async def test_expired_token_says_so(api: Client, user: dict[str, Any]) -> None:
    resp = await api.get("/api/users/me", headers=bearer(ATTACKS["expired"](claims_of(user))))
    assert resp.status == 401
    assert (await resp.json())["error"]["message"] == "token has expired"


async def test_bad_tokens_log_no_tracebacks(
    api: Client, user: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    claims = claims_of(user)
    for name in ("forged_signature", "alg_none", "expired", "hs512", "no_iss"):
        await assert_rejected(api, bearer(ATTACKS[name](claims)))
    await assert_rejected(api, {"Authorization": "Bearer garbage.garbage.garbage"})
    assert [r for r in caplog.records if r.name.startswith("aiohttp_jwt")] == []
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


async def test_public_routes_ignore_a_bad_token(api: Client, user: dict[str, Any]) -> None:
    resp = await api.post(
        "/api/login",
        json={"username": user["username"], "password": "correct-horse-9"},
        headers=bearer("garbage"),
    )
    assert resp.status == 200
    assert (await api.get("/health", headers=bearer("garbage"))).status == 200


# What each refusal says: missing, malformed, bad signature, algorithm, issuer, expired.
SAYS = {
    "forged_signature": "token signature is invalid",
    "alg_none": "token algorithm is not allowed: only HS256",
    "hs512": "token algorithm is not allowed: only HS256",
    "hs256_labelled_rs256": "token algorithm is not allowed: only HS256",
    "wrong_iss": "token was not issued by this server",
    "expired": "token has expired",
}


@pytest.mark.parametrize("attack", sorted(SAYS))
async def test_the_message_says_what_is_wrong_with_the_token(
    api: Client, user: dict[str, Any], attack: str
) -> None:
    token = ATTACKS[attack](claims_of(user))
    resp = await api.get("/api/users/me", headers=bearer(token))
    assert resp.status == 401
    assert (await resp.json())["error"]["message"] == SAYS[attack]


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("Bearer garbage", "the bearer token is malformed: a JWT is three base64url parts"),
        ("Bearer a.b", "the bearer token is malformed: a JWT is three base64url parts"),
        ("Bearer a.b.c", "the bearer token is malformed: a JWT is three base64url parts"),
        ("Basic dXNlcjpwYXNz", "the Authorization header must be 'Bearer <token>'"),
        ("", "missing Authorization header with a bearer token"),
    ],
)
async def test_a_malformed_or_missing_token_is_named_so(
    api: Client, header: str, says: str
) -> None:
    resp = await api.get("/api/users/me", headers={"Authorization": header})
    assert resp.status == 401
    assert (await resp.json())["error"]["message"] == says
