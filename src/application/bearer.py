"""What the HTTP layer needs to turn a bearer token into a Session: how to check a token it
has not seen, and the tokens already checked. The composition root provides both."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kv_api.application.ports import Session


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """A full check: signature with `secret`, only `algorithm`, `issuer`, expiry."""

    secret: str = field(repr=False)
    issuer: str
    algorithm: str


class VerifiedTokens(Protocol):
    """Tokens that passed a full check, each with its session, until the token expires.
    Each is remembered under its credential: the exact text the client sent it in.
    Revocation and token versions are not decided here: storage checks the session on
    every call."""

    @property
    def check(self) -> TokenCheck: ...

    def session_of(self, credential: str) -> Session | None:
        """The session of a credential accepted earlier whose token has not expired; else None."""
        ...

    def accept(self, credential: str, claims: Mapping[str, Any]) -> Session:
        """The session of claims a full check has just accepted, remembered until the token
        expires; Unauthenticated (and nothing remembered) when the claims are not ours."""
        ...
