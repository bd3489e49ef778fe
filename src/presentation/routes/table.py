"""The route table: every endpoint family, in the order their routes are matched. The app
binds it, the OpenAPI document walks it, and the public routes are read off it."""

from collections.abc import Iterable

from aiohttp import web

from kv_api.presentation.routes.accounts.endpoints import AccountEndpoints
from kv_api.presentation.routes.console.endpoints import ConsoleEndpoints
from kv_api.presentation.routes.contract import Operation, operations_of, routes_of
from kv_api.presentation.routes.docs import DocsEndpoints
from kv_api.presentation.routes.kv.endpoints import KeyValueEndpoints
from kv_api.presentation.routes.ops import OpsEndpoints
from kv_api.presentation.routes.users.endpoints import UserManagementEndpoints
from kv_api.presentation.routes.watch.endpoints import WatchEndpoints

FAMILIES: tuple[type, ...] = (
    AccountEndpoints,
    UserManagementEndpoints,
    KeyValueEndpoints,
    WatchEndpoints,
    OpsEndpoints,
    DocsEndpoints,
    ConsoleEndpoints,
)


def operations() -> list[Operation]:
    return [op for family in FAMILIES for op in operations_of(family)]


def public_routes() -> frozenset[str]:
    """Route templates served without a token."""
    return frozenset(op.path for op in operations() if op.public)


def api_routes() -> frozenset[str]:
    """Route templates of the API itself: not the files of Swagger UI or the console."""
    return frozenset(op.path for op in operations() if op.documented)


def bind(endpoints: Iterable[object]) -> list[web.RouteDef]:
    """The aiohttp routes of built endpoint objects, one of each family."""
    by_family = {type(each): each for each in endpoints}
    missing = [family.__name__ for family in FAMILIES if family not in by_family]
    if missing:
        raise LookupError(f"no endpoints built for {', '.join(missing)}")
    return [
        web.route(op.method.upper(), op.path, handler)
        for family in FAMILIES
        for op, handler in routes_of(by_family[family])
    ]
