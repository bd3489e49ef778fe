import re
from collections.abc import Iterable

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from application.errors import Unauthenticated
from application.ports import Session
from infrastructure.security.hmac_keys import remember_hmac_keys
from infrastructure.security.tokens import ALGORITHM, session_from_claims
from infrastructure.security.verifier import JwtTokenVerifier
from presentation.http.errors import Handler

PAYLOAD_KEY = web.RequestKey("jwt_payload", dict)
SESSION_KEY = web.RequestKey("kv_session", Session)
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


def auth_middleware(verifier: JwtTokenVerifier, public_paths: Iterable[str]) -> Middleware:
    """Routes outside `public_paths` need a valid bearer token; its claims go to PAYLOAD_KEY.
    Unknown routes and methods answer 404 and 405 before any token is asked for."""
    public = frozenset(public_paths)
    remember_hmac_keys(ALGORITHM)

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.http_exception is not None:
            raise request.match_info.http_exception
        if request.method != hdrs.METH_OPTIONS and request.path not in public:
            request[PAYLOAD_KEY] = verifier.claims(bearer_token(request))
        return await handler(request)

    return authenticate


def current_session(request: web.Request) -> Session:
    session = request.get(SESSION_KEY)
    if session is None:
        payload = request.get(PAYLOAD_KEY)
        if not isinstance(payload, dict):
            raise Unauthenticated("invalid or missing bearer token")
        session = session_from_claims(payload)
        request[SESSION_KEY] = session
    return session
