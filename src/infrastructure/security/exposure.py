"""Refuse to serve beyond loopback with a JWT secret anyone can read in a public file."""

import ipaddress

from kv_api.infrastructure.settings import Settings, StartupError

# Secrets that were published as defaults or examples: a token signed with one is a forgery.
KNOWN_PLACEHOLDERS = frozenset(
    {
        "change-me-this-secret-must-be-at-least-32-bytes",
        "test-secret-that-is-at-least-32-bytes-long!",
    }
)
_PLACEHOLDER_WORDS = ("change-me", "changeme", "replace-me", "your-secret")


def is_placeholder(secret: str) -> bool:
    lowered = secret.strip().lower()
    return lowered in KNOWN_PLACEHOLDERS or any(word in lowered for word in _PLACEHOLDER_WORDS)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name or 0.0.0.0-like wildcard: assume it is reachable


def check_secret_exposure(settings: Settings) -> None:
    if settings.jwt_secret is None or is_loopback(settings.host):
        return
    if is_placeholder(settings.jwt_secret):
        raise StartupError(
            f"KV_JWT_SECRET is a published placeholder and KV_HOST={settings.host} is reachable "
            "from other machines: set a random secret of 32+ bytes, or listen on 127.0.0.1"
        )
