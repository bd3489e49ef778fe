"""Bearer-token authentication. The edge middleware (presentation.http.edge) asks the
Authenticator about every request."""

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import hdrs, web
from aiohttp_jwt import JWTMiddleware

from kv_api.application.bearer import VerifiedTokens
from kv_api.application.errors import Unauthenticated
from kv_api.application.ports import Session

JWT_PROPERTY = "jwt_payload"  # aiohttp-jwt stores decoded claims under this (string) key
SESSION_KEY = web.RequestKey("kv_session", Session)
TOKEN_KEY = web.RequestKey("kv_token", str)
# aiohttp-jwt logs a full traceback for every bad token: a bad client must not flood the logs.
logging.getLogger("aiohttp_jwt").setLevel(logging.CRITICAL + 1)
_BARE_JWT = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*$")


MALFORMED = "the bearer token is malformed: a JWT is three base64url parts"
# What PyJWT's refusals (in aiohttp-jwt's reason) mean to a client, the first match wins.
_REASONS = (
    ("expired", "token has expired"),
    ("signature verification failed", "token signature is invalid"),
    ("alg value is not allowed", "token algorithm is not allowed: only HS256"),
    ("algorithm", "token algorithm is not allowed: only HS256"),
    ("issuer", "token was not issued by this server"),
)


def bearer_token(header: str) -> str:
    """`Bearer <jwt>` with the scheme in any case, or a bare JWT (older clients send
    `Authorization: <jwt>` without the scheme)."""
    header = header.strip()
    if not header:
        raise Unauthenticated("missing Authorization header with a bearer token")
    parts = header.split()
    if len(parts) == 2 and parts[0].lower() == "bearer":
        if _BARE_JWT.match(parts[1]):
            return parts[1]
        raise Unauthenticated(MALFORMED)
    if len(parts) == 1 and _BARE_JWT.match(parts[0]):
        return parts[0]
    raise Unauthenticated("the Authorization header must be 'Bearer <token>'")


class Authenticator:
    """Decides who is calling before a handler runs. Public routes and CORS preflights pass;
    anything else needs a bearer token. An Authorization header not among the verified ones
    goes through aiohttp-jwt (PyJWT: signature, pinned algorithm, issuer, expiry) and is then
    remembered with its session; a remembered one is still refused once its token expires."""

    def __init__(self, tokens: VerifiedTokens, public_routes: Iterable[str]) -> None:
        self._tokens = tokens
        self._public = frozenset(public_routes)
        check = tokens.check
        self._jwt = JWTMiddleware(
            check.secret,
            request_property=JWT_PROPERTY,
            credentials_required=True,
            token_getter=_token_of,
            algorithms=[check.algorithm],
            issuer=check.issuer,
        )

    def known(self, request: web.Request) -> bool:
        """True when the request may go on as it is: a public route, a preflight, or a bearer
        token verified before (its session is then set). Plain, not a coroutine: it settles
        nearly every request. False: `verify` must run. The request must have been routed."""
        if request.method == hdrs.METH_OPTIONS:
            return True
        resource = request.match_info.route.resource
        if resource is not None and resource.canonical in self._public:
            return True
        # Keyed by the header as sent: a hit skips parsing it too (docs/decisions/004).
        session = self._tokens.session_of(request.headers.get(hdrs.AUTHORIZATION, ""))
        if session is None:
            return False
        request[SESSION_KEY] = session
        return True

    async def verify(self, request: web.Request) -> None:
        """Sets the session of a token not seen before, or raises Unauthenticated."""
        header = request.headers.get(hdrs.AUTHORIZATION, "")
        claims = await self._verified_claims(request, bearer_token(header))
        request[SESSION_KEY] = self._tokens.accept(header, claims)

    async def _verified_claims(self, request: web.Request, token: str) -> Mapping[str, Any]:
        """aiohttp-jwt's full check. Its inner handler only lets the claims through, so a
        401 or 403 raised here is always the token's, never the real handler's."""
        request[TOKEN_KEY] = token
        try:
            await self._jwt(request, _claims_checked)
        except (web.HTTPUnauthorized, web.HTTPForbidden) as exc:
            raise Unauthenticated(_reason(exc.reason)) from None
        claims = request.get(JWT_PROPERTY)
        if not isinstance(claims, dict):
            raise Unauthenticated("invalid or missing bearer token")
        return claims


async def _token_of(request: web.Request) -> str:
    return request[TOKEN_KEY]


async def _claims_checked(request: web.Request) -> web.StreamResponse:
    return web.Response()  # never sent: the real handler runs after the check


def _reason(text: str) -> str:
    lowered = text.lower()
    return next((said for found, said in _REASONS if found in lowered), MALFORMED)


def current_session(request: web.Request) -> Session:
    try:
        return request[SESSION_KEY]
    except KeyError:  # a public route asking for a caller
        raise Unauthenticated("invalid or missing bearer token") from None
