"""The one cache of verified bearer tokens: credential (the Authorization header a token came
in) -> its session, until the token expires. A client sends the same header with every
request, so only its first request pays for the full check (aiohttp-jwt, in the HTTP layer);
the others cost a dictionary lookup.

Only tokens that passed the full check and carry our claims are remembered, expiry is checked
again on every use, and the oldest entry goes when the cache is full."""

import time
from collections.abc import Callable, Mapping
from typing import Any

from kv_api.application.bearer import TokenCheck
from kv_api.application.ports import Session
from kv_api.infrastructure.security.tokens import ALGORITHM, session_from_claims

REMEMBERED_TOKENS = 4096


class RememberedTokens:
    def __init__(
        self,
        secret: str,
        issuer: str,
        remembered: int = REMEMBERED_TOKENS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.check = TokenCheck(secret, issuer, ALGORITHM)
        self._remembered = remembered
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def session_of(self, credential: str) -> Session | None:
        session = self._sessions.get(credential)
        if session is None:
            return None
        if self._clock() < session.expires_at:
            return session
        del self._sessions[credential]
        return None

    def accept(self, credential: str, claims: Mapping[str, Any]) -> Session:
        session = session_from_claims(claims)
        if credential not in self._sessions and len(self._sessions) >= self._remembered:
            del self._sessions[next(iter(self._sessions))]  # the oldest: dicts keep order
        self._sessions[credential] = session
        return session
