import secrets
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt

from kv_api.application.errors import Unauthenticated
from kv_api.application.ports import IssuedToken, Session
from kv_api.domain.users import User
from kv_api.infrastructure.private_files import read_or_create
from kv_api.infrastructure.settings import StartupError

ALGORITHM = "HS256"
SECRET_FILE = "jwt_secret"
MIN_SECRET_BYTES = 32


class JwtTokenIssuer:
    def __init__(self, secret: str, issuer: str, ttl: int) -> None:
        self._secret = secret
        self._issuer = issuer
        self._ttl = ttl

    def issue(self, user: User) -> IssuedToken:
        now = int(time.time())
        claims = {
            "sub": str(user.id),
            "name": user.username,
            "ver": user.token_version,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + self._ttl,
            "iss": self._issuer,
        }
        return IssuedToken(
            token=jwt.encode(claims, self._secret, algorithm=ALGORITHM), expires_in=self._ttl
        )


def session_from_claims(claims: Mapping[str, Any]) -> Session:
    """aiohttp-jwt checked signature, algorithm, expiry and issuer; the claims must be ours."""
    try:
        user_id = int(claims["sub"])
        version = claims["ver"]
        token_id = claims["jti"]
        expires_at = claims["exp"]
    except (KeyError, TypeError, ValueError):
        raise Unauthenticated("token lacks required claims") from None
    if not (isinstance(version, int) and isinstance(token_id, str) and isinstance(expires_at, int)):
        raise Unauthenticated("token claims have the wrong types")
    in_range = 0 <= user_id < 2**63 and 0 <= version < 2**63 and 0 < expires_at < 2**63
    if not (in_range and 0 < len(token_id) <= 64):
        raise Unauthenticated("token claims are invalid")
    return Session(user_id=user_id, token_version=version, token_id=token_id, expires_at=expires_at)


def load_or_create_secret(configured: str | None, data_dir: Path) -> str:
    """The configured secret, else the one kept in the data folder (created 0600 on first use)."""
    if configured is not None:
        return _long_enough(configured, "KV_JWT_SECRET")
    path = data_dir / SECRET_FILE
    secret = read_or_create(path, lambda: secrets.token_urlsafe(48))
    return _long_enough(secret, str(path))


def _long_enough(secret: str, source: str) -> str:
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise StartupError(f"{source}: the JWT secret must be at least {MIN_SECRET_BYTES} bytes")
    return secret
