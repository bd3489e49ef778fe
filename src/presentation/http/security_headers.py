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

# The console: its own script, style sheet and icon, fetches to this origin only; no inline
# script or style. form-action 'none': a form sent without the script would put the password
# in a URL. no-cache: the files are checked again (ETag) on every load, so an upgrade shows.
CONSOLE_HEADERS = (
    *_COMMON,
    (istr("Cache-Control"), "no-cache"),
    (
        istr("Content-Security-Policy"),
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
)


def is_docs_path(path: str) -> bool:
    return path == "/docs" or path.startswith("/docs/")


def is_console_path(path: str) -> bool:
    return path == "/console" or path.startswith("/console/")


def security_headers_for(path: str) -> tuple[tuple[str, str], ...]:
    """Defaults only: a handler that sets one of these headers itself keeps its value."""
    if is_docs_path(path):
        return DOCS_HEADERS
    return CONSOLE_HEADERS if is_console_path(path) else API_HEADERS
