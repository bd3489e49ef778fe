"""Hardening headers on every response, errors included: the edge middleware adds them to
each response it returns (none of ours is prepared inside a handler), which costs less than
an `on_response_prepare` signal per request."""

from multidict import istr

# istr names: CIMultiDict takes them without folding case on each request
_COMMON = (
    (istr("X-Content-Type-Options"), "nosniff"),
    (istr("X-Frame-Options"), "DENY"),
    (istr("Referrer-Policy"), "no-referrer"),
)
API_HEADERS = (
    *_COMMON,
    (istr("Cache-Control"), "no-store"),
    (istr("Content-Security-Policy"), "default-src 'none'; frame-ancestors 'none'"),
)
# Swagger UI: its bundle and initializer scripts, inline styles, data: images, and
# fetches of /openapi.json and "try it out" calls to this origin.
DOCS_HEADERS = (
    *_COMMON,
    (
        istr("Content-Security-Policy"),
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'",
    ),
)


def is_docs_path(path: str) -> bool:
    return path == "/docs" or path.startswith("/docs/")


def security_headers_for(path: str) -> tuple[tuple[str, str], ...]:
    """Defaults only: a handler that sets one of these headers itself keeps its value."""
    return DOCS_HEADERS if is_docs_path(path) else API_HEADERS
