"""PyJWT checks an HMAC secret on every decode (PEM, SSH, DER and JWK probes, one of them a
failing `json.loads`): about 15 of the 40 microseconds a token check takes. Our secret does not
change while the process runs, so the HS256 algorithm registered with PyJWT remembers the keys
it has already prepared. Checks and errors are PyJWT's own: a rejected key is never cached."""

import contextlib
import functools
from collections.abc import Callable
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm

CACHED_KEYS = 8


class CachedKeyHMAC(HMACAlgorithm):
    def __init__(self, hash_alg: Callable[..., Any]) -> None:
        super().__init__(hash_alg)
        self._prepare: Callable[[str | bytes], bytes] = functools.lru_cache(CACHED_KEYS)(
            super().prepare_key
        )

    def prepare_key(self, key: str | bytes) -> bytes:
        if isinstance(key, (str, bytes)):
            return self._prepare(key)
        return super().prepare_key(key)


def remember_hmac_keys(algorithm: str = "HS256") -> None:
    """Idempotent; call at composition time, before the first token is checked."""
    with contextlib.suppress(KeyError):
        jwt.unregister_algorithm(algorithm)
    jwt.register_algorithm(algorithm, CachedKeyHMAC(HMACAlgorithm.SHA256))
