"""Bearer-token authentication: aiohttp-jwt verifies every token it has not seen (HS256 pinned,
issuer, expiry); a token it accepted is remembered until it expires, so the next requests with it
skip the decode. Revocation and token versions are checked by storage on every call.
The edge middleware (presentation.http.edge) calls the Authenticator for every request."""

import logging
import re
from collections.abc import Iterable

from aiohttp import hdrs, web
from aiohttp_jwt import JWTMiddleware

from kv_api.application.errors import Unauthenticated
from kv_api.application.ports import Session
from kv_api.infrastructure.security.hmac_keys import remember_hmac_keys
from kv_api.infrastructure.security.tokens import ALGORITHM, session_from_claims
from kv_api.infrastructure.security.verifier import REMEMBERED_TOKENS, JwtTokenVerifier
from kv_api.presentation.http.errors import Handler

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


class Authenticator:
    """Decides who is calling before a handler runs. Public paths and CORS preflights pass;
    anything else needs a bearer token. A token seen for the first time goes through
    aiohttp-jwt (PyJWT: signature, pinned HS256, issuer, expiry); once accepted it is
    remembered until it expires, so the following requests with it cost a dictionary lookup:
    the Authorization header it came in is remembered with its session, and the verifier
    answers (and checks the expiry again) for the token."""

    def __init__(
        self, verifier: JwtTokenVerifier, secret: str, issuer: str, public_paths: Iterable[str]
    ) -> None:
        self._verifier = verifier
        self._public = frozenset(public_paths)
        self._sessions: dict[str, tuple[str, Session]] = {}
        remember_hmac_keys(ALGORITHM)
        self._jwt = JWTMiddleware(
            secret,
            request_property=JWT_PROPERTY,
            credentials_required=True,
            token_getter=_token_of,
            algorithms=[ALGORITHM],
            issuer=issuer,
        )

    async def __call__(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == hdrs.METH_OPTIONS or request.path in self._public:
            return await handler(request)
        header = request.headers.get(hdrs.AUTHORIZATION)
        if header is not None and (known := self._sessions.get(header)) is not None:
            claims = self._verifier.remembered(known[0])
            if claims is not None:
                request[PAYLOAD_KEY] = claims
                request[SESSION_KEY] = known[1]
                return await handler(request)
            del self._sessions[header]  # expired or forgotten: the full check decides
        token = bearer_token(request)
        claims = self._verifier.remembered(token)
        if claims is not None:
            request[PAYLOAD_KEY] = claims
            self._remember_header(header, token, request)
            return await handler(request)
        request[TOKEN_KEY] = token
        verified = False

        async def accepted(request: web.Request) -> web.StreamResponse:
            nonlocal verified
            verified = True
            _remember_verified(request, self._verifier)
            self._remember_header(header, token, request)
            return await handler(request)

        try:
            response: web.StreamResponse = await self._jwt(request, accepted)
        except (web.HTTPUnauthorized, web.HTTPForbidden) as exc:
            if verified:  # raised by the handler itself, not by the token check
                raise
            raise Unauthenticated(_reason(exc.reason)) from None
        return response

    def _remember_header(self, header: str | None, token: str, request: web.Request) -> None:
        """The header's session, once its token is verified; the oldest goes when full."""
        if header is None:
            return
        session = current_session(request)  # Unauthenticated if the claims are not ours
        if len(self._sessions) >= REMEMBERED_TOKENS:
            del self._sessions[next(iter(self._sessions))]
        self._sessions[header] = (token, session)


async def _token_of(request: web.Request) -> str:
    return request[TOKEN_KEY]


def _remember_verified(request: web.Request, verifier: JwtTokenVerifier) -> None:
    decoded = request.get(JWT_PROPERTY)
    if not isinstance(decoded, dict):
        raise Unauthenticated("invalid or missing bearer token")
    verifier.remember(request[TOKEN_KEY], decoded)
    request[PAYLOAD_KEY] = decoded


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
