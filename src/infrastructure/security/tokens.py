import secrets
import time
import uuid
from pathlib import Path
from typing import Any

import jwt

from application.errors import Unauthenticated
from application.ports import IssuedToken, Session
from domain.users import User

ALGORITHM = "HS256"


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


def session_from_claims(claims: dict[str, Any]) -> Session:
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
    if not (0 <= user_id < 2**63 and 0 <= version < 2**63 and 0 < len(token_id) <= 64):
        raise Unauthenticated("token claims are invalid")
    return Session(user_id=user_id, token_version=version, token_id=token_id, expires_at=expires_at)


def load_or_create_secret(configured: str | None, data_dir: Path) -> str:
    if configured:
        return configured
    path = data_dir / "jwt_secret"
    if path.exists():
        secret = path.read_text(encoding="ascii").strip()
        if len(secret) >= 32:
            return secret
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(secret, encoding="ascii")
    return secret
