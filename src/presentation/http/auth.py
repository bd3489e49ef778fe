import logging
import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from aiohttp_jwt import JWTMiddleware

from application.errors import Unauthenticated
from application.ports import Session
from infrastructure.security.tokens import ALGORITHM, session_from_claims
from presentation.http.errors import Handler

PAYLOAD_KEY = "jwt_payload"
SESSION_KEY = web.RequestKey("kv_session", Session)
_BARE_JWT = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*$")

# aiohttp-jwt logs a full traceback for every bad token; a bad client must not flood the logs.
logging.getLogger("aiohttp_jwt").setLevel(logging.CRITICAL + 1)


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


def jwt_middleware(secret: str, issuer: str, public_paths: Iterable[str]) -> Any:
    whitelist = [f"^{re.escape(path)}$" for path in public_paths]
    return JWTMiddleware(
        secret,
        request_property=PAYLOAD_KEY,
        credentials_required=True,
        whitelist=whitelist,
        token_getter=bearer_token,
        algorithms=[ALGORITHM],
        issuer=issuer,
    )


@web.middleware
async def auth_errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Sits outside aiohttp-jwt: unrouted requests skip auth; its 401/403 become our 401."""
    if request.match_info.http_exception is not None:
        raise request.match_info.http_exception
    try:
        return await handler(request)
    except (web.HTTPUnauthorized, web.HTTPForbidden) as exc:
        raise Unauthenticated(_reason(exc.reason)) from None


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
