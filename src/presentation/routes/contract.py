"""What a route promises: method and path, its request schema, its documented answers and
whether it is public. Endpoint classes declare it on each route method with `@operation`;
the app binds the methods (`routes_of`) and the OpenAPI document reads the same
declarations (`operations_of`), so the contract of a route is written once, beside it."""

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from marshmallow import Schema

SchemaRef = type[Schema] | dict[str, Any]
Content = tuple[str, SchemaRef]  # media type, schema
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
F = TypeVar("F", bound=Callable[..., Any])
JSON = "application/json"
# What any route that reads a JSON body may answer: invalid, or too large.
BODY_ERRORS = (400, 413)
# What any route behind a token may answer: no valid token; 429 when the caller's own requests
# in flight are at their cap (KV_USER_MAX_INFLIGHT); the store unavailable.
SESSION_ERRORS = (401, 429, 503)
_KEY = "__operations__"


@dataclass(frozen=True, slots=True)
class Answer:
    """An error answer a route family documents itself (openapi_answers.py holds the usual
    one per status); `retry_after`: it carries a Retry-After header."""

    name: str
    status: int
    description: str
    example: dict[str, Any]
    schema: SchemaRef | None = None  # None: the error body
    retry_after: bool = False


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    success: str  # what the success answer means
    status: int = 200
    content: Content | None = None
    # other media types of the success answer: media type -> its OpenAPI media object
    alternatives: tuple[tuple[str, dict[str, Any]], ...] = ()
    success_headers: dict[str, Any] | None = None
    # answered besides success: a status (its usual answer), or an answer of the route's own
    errors: tuple[int | Answer, ...] = ()
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    public: bool = False
    description: str = ""
    examples: dict[str, Any] | None = None
    documented: bool = True  # False: served, but not part of the API (Swagger UI's files)


def operation(*declared: Operation) -> Callable[[F], F]:
    """Declares the operations a route method serves (one, or PATCH and PUT alike)."""

    def mark(method: F) -> F:
        setattr(method, _KEY, (*getattr(method, _KEY, ()), *declared))
        return method

    return mark


def operations_of(endpoints: type) -> list[Operation]:
    return [op for _, op in _declared(endpoints)]


def routes_of(endpoints: object) -> list[tuple[Operation, Handler]]:
    """Each declared operation of an endpoints object with the bound method that serves it."""
    return [(op, getattr(endpoints, name)) for name, op in _declared(type(endpoints))]


def _declared(endpoints: type) -> Iterable[tuple[str, Operation]]:
    for name, member in vars(endpoints).items():
        for op in getattr(member, _KEY, ()):
            yield name, op


def examples(**named: tuple[str, Any]) -> dict[str, Any]:
    """OpenAPI examples from name=(summary, value) pairs."""
    return {name: {"summary": summary, "value": value} for name, (summary, value) in named.items()}
