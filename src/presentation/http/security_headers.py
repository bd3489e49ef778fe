"""Hardening headers on every response, errors included (an `on_response_prepare` hook)."""

from aiohttp import web

_COMMON = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)
API_HEADERS = (
    *_COMMON,
    ("Cache-Control", "no-store"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
)
# Swagger UI: its bundle and initializer scripts, inline styles, data: images, and
# fetches of /openapi.json and "try it out" calls to this origin.
DOCS_HEADERS = (
    *_COMMON,
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'",
    ),
)


def is_docs_path(path: str) -> bool:
    return path == "/docs" or path.startswith("/docs/")


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Defaults only: a handler that sets one of these headers itself keeps its value."""
    headers = response.headers
    for name, value in DOCS_HEADERS if is_docs_path(request.path) else API_HEADERS:
        headers.setdefault(name, value)
