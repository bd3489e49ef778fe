"""Route handlers with their injected arguments looked up once per app instead of per call.

Routes declare what they need the dependency-injector way (`@inject`, `Provide[Container.x]`
defaults). The wired `@inject` wrapper resolves every marker again on each call, which cost
5-7% of a small read's instructions (docs/decisions/017-*). `bind_routes` resolves each
marker against the app's own container once, and the handler then calls the undecorated
function with those objects. Routes get only singletons and settings, so one lookup gives the
objects a lookup per call would; the values are taken on a handler's first request, after the
app's start-up has initialized the container's resources.
"""

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

from aiohttp import web
from dependency_injector import containers, providers, wiring

Handler = Callable[..., Awaitable[web.StreamResponse]]
# Providers that make a new object per call: caching their first one would change behaviour.
_PER_CALL = (providers.Factory, providers.Callable, providers.Coroutine)
_PROVIDE = cast(type, wiring.Provide)  # a class at run time; typed as a marker instance


def bind_routes(
    routes: Iterable[web.AbstractRouteDef], container: containers.Container
) -> list[web.AbstractRouteDef]:
    """`routes` with each handler's `Provide[...]` arguments bound from `container`."""
    lookup = wiring.ProvidersMap(container)
    return [
        web.RouteDef(route.method, route.path, bind_handler(route.handler, lookup), route.kwargs)
        if isinstance(route, web.RouteDef)
        else route
        for route in routes
    ]


def bind_handler(handler: Handler, lookup: wiring.ProvidersMap) -> Handler:
    """The handler itself when it declares no dependency, else one that calls the undecorated
    function with the dependencies resolved on its first call."""
    found = _providers(handler, lookup)
    if not found:
        return handler
    original = _undecorated(handler)
    call: Handler | None = None

    @functools.wraps(original)
    async def bound(request: web.Request) -> web.StreamResponse:
        nonlocal call
        if call is None:
            call = functools.partial(original, **{name: p() for name, p in found.items()})
        return await call(request)

    return bound


def _providers(handler: Handler, lookup: wiring.ProvidersMap) -> dict[str, providers.Provider[Any]]:
    found: dict[str, providers.Provider[Any]] = {}
    for name, parameter in inspect.signature(handler).parameters.items():
        marker: Any = parameter.default
        if not getattr(marker, "__IS_MARKER__", False):
            continue
        kind = type(marker)
        if kind is not _PROVIDE:
            raise TypeError(f"{handler.__qualname__}: only Provide[...] is supported ({name})")
        provider = lookup.resolve_provider(marker.provider, marker.modifier)
        if provider is None:
            raise LookupError(f"{handler.__qualname__}: {name} has no provider in the container")
        if isinstance(provider, _PER_CALL):
            raise TypeError(f"{handler.__qualname__}: {name} must be a singleton or a value")
        found[name] = provider
    return found


def _undecorated(handler: Handler) -> Handler:
    """The function under `@inject`; any other decorator would be skipped, so it is refused."""
    original: Handler = getattr(handler, "__wrapped__", handler)
    if hasattr(original, "__wrapped__"):
        raise TypeError(f"{handler.__qualname__}: @inject must be its only decorator")
    return original
