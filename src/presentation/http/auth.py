"""Bearer-token authentication: aiohttp-jwt verifies every token it has not seen (HS256 pinned,
issuer, expiry); a token it accepted is remembered until it expires, so the next requests with it
skip the decode. Revocation and token versions are checked by storage on every call."""

import logging
import re
from collections.abc import Iterable

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware
from aiohttp_jwt import JWTMiddleware

from application.errors import Unauthenticated
from application.ports import Session
from infrastructure.security.hmac_keys import remember_hmac_keys
from infrastructure.security.tokens import ALGORITHM, session_from_claims
from infrastructure.security.verifier import Claims, JwtTokenVerifier
from presentation.http.errors import Handler

JWT_PROPERTY = "jwt_payload"  # aiohttp-jwt stores decoded claims under this (string) key
PAYLOAD_KEY = web.RequestKey("kv_claims", dict)
SESSION_KEY = web.RequestKey("kv_session", Session)
TOKEN_KEY = web.RequestKey("kv_token", str)
# aiohttp-jwt logs a full traceback for every bad token: a bad client must not flood the logs.
logging.getLogger("aiohttp_jwt").setLevel(logging.CRITICAL + 1)
_BARE_JWT = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*$")


def bearer_token(request: web.Request) -> str:
    """`Bearer <jwt>` with the scheme in any case, or a bare JWT (seed 002 and 004 clients)."""
    header = request.headers.get("Authorization", "").strip()
    if not header:
        raise Unauthenticated("missing Authorization header with a bearer token")
    parts = header.split()
    if len(parts) == 2 and parts[0].lower() == "bearer" and _BARE_JWT.match(parts[1]):
        return parts[1]
    if len(parts) == 1 and _BARE_JWT.match(parts[0]):
        return parts[0]
    raise Unauthenticated("Authorization header must be 'Bearer <token>'")


def auth_middlewares(
    verifier: JwtTokenVerifier, secret: str, issuer: str, public_paths: Iterable[str]
) -> list[Middleware]:
    """Outermost first: unrouted requests and aiohttp-jwt's own errors, aiohttp-jwt, claims."""
    public = frozenset(public_paths)
    remember_hmac_keys(ALGORITHM)

    async def token_getter(request: web.Request) -> str | None:
        token = bearer_token(request)
        known = verifier.remembered(token)
        if known is not None:
            request[PAYLOAD_KEY] = known
            return None  # already verified: aiohttp-jwt has nothing to decode
        request[TOKEN_KEY] = token
        return token

    @web.middleware
    async def translate_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.http_exception is not None:
            raise request.match_info.http_exception
        try:
            return await handler(request)
        except (web.HTTPUnauthorized, web.HTTPForbidden) as exc:
            raise Unauthenticated(_reason(exc.reason)) from None

    @web.middleware
    async def require_claims(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != hdrs.METH_OPTIONS and request.path not in public:
            _claims_of(request, verifier)
        return await handler(request)

    verify = JWTMiddleware(
        secret,
        request_property=JWT_PROPERTY,
        credentials_required=False,
        # one anchored alternation: aiohttp-jwt tries whitelist patterns one by one per request
        whitelist=["^(?:" + "|".join(re.escape(path) for path in sorted(public)) + ")$"],
        token_getter=token_getter,
        algorithms=[ALGORITHM],
        issuer=issuer,
    )
    return [translate_errors, verify, require_claims]


def _claims_of(request: web.Request, verifier: JwtTokenVerifier) -> Claims:
    claims: Claims | None = request.get(PAYLOAD_KEY)
    if claims is not None:
        return claims
    decoded = request.get(JWT_PROPERTY)
    token = request.get(TOKEN_KEY)
    if not isinstance(decoded, dict) or token is None:
        raise Unauthenticated("invalid or missing bearer token")
    verifier.remember(token, decoded)
    request[PAYLOAD_KEY] = decoded
    return decoded


def _reason(text: str) -> str:
    if "expired" in text.lower():
        return "token has expired"
    return "invalid or missing bearer token"


def current_session(request: web.Request) -> Session:
    session = request.get(SESSION_KEY)
    if session is None:
        payload = request.get(PAYLOAD_KEY)
        if not isinstance(payload, dict):
            raise Unauthenticated("invalid or missing bearer token")
        session = session_from_claims(payload)
        request[SESSION_KEY] = session
    return session
