"""Route dependencies are looked up once per app, from that app's container."""

import itertools
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from dependency_injector import containers, providers
from dependency_injector.wiring import Provide, inject

from kv_api.presentation.injection import bind_routes

_made = itertools.count(1)


class Greeter:
    def __init__(self, greeting: str) -> None:
        self.greeting = greeting
        self.serial = next(_made)


class Demo(containers.DeclarativeContainer):
    greeting = providers.Object("hello")
    greeter = providers.Singleton(Greeter, greeting)
    fresh = providers.Factory(Greeter, greeting)


routes = web.RouteTableDef()


@routes.get("/greet")
@inject
async def greet(
    request: web.Request,
    greeter: Greeter = Provide[Demo.greeter],
    greeting: str = Provide[Demo.greeting],
) -> web.Response:
    return web.Response(text=f"{greeter.greeting}/{greeting}/{greeter.serial}")


@routes.get("/plain")
async def plain(request: web.Request) -> web.Response:
    return web.Response(text="plain")


def handler_of(bound: list[web.AbstractRouteDef], path: str) -> Any:
    return next(r.handler for r in bound if isinstance(r, web.RouteDef) and r.path == path)


async def answer(handler: Any, path: str) -> str:
    response = await handler(make_mocked_request("GET", path))
    assert isinstance(response, web.Response) and isinstance(response.text, str)
    return response.text


async def test_providers_are_called_on_the_first_request_only() -> None:
    container = Demo()
    calls: list[str] = []

    def make() -> Greeter:
        calls.append("greeter")
        return Greeter("hi")

    container.greeter.override(providers.Callable(make))  # counts every lookup
    handler = handler_of(bind_routes(routes, container), "/greet")
    assert calls == []  # nothing is built before a request needs it
    first = await answer(handler, "/greet")
    assert await answer(handler, "/greet") == first
    assert first.startswith("hi/hello/")
    assert calls == ["greeter"]


async def test_each_app_resolves_from_its_own_container() -> None:
    one, two = Demo(), Demo(greeting=providers.Object("hej"))
    first = await answer(handler_of(bind_routes(routes, one), "/greet"), "/greet")
    second = await answer(handler_of(bind_routes(routes, two), "/greet"), "/greet")
    assert first.split("/")[:2] == ["hello", "hello"]
    assert second.split("/")[:2] == ["hej", "hej"]
    assert first.split("/")[2] != second.split("/")[2]  # two containers, two singletons


def test_a_route_without_dependencies_is_kept_as_it_is() -> None:
    assert handler_of(bind_routes(routes, Demo()), "/plain") is plain


def test_a_per_call_provider_is_refused() -> None:
    table = web.RouteTableDef()

    @table.get("/fresh")
    @inject
    async def fresh(request: web.Request, greeter: Greeter = Provide[Demo.fresh]) -> web.Response:
        return web.Response()

    with pytest.raises(TypeError, match="singleton or a value"):
        bind_routes(table, Demo())


def test_another_decorator_under_inject_is_refused() -> None:
    table = web.RouteTableDef()

    def logged(fn: Any) -> Any:
        async def wrapper(request: web.Request, **kwargs: Any) -> web.StreamResponse:
            result: web.StreamResponse = await fn(request, **kwargs)
            return result

        wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
        return wrapper

    @table.get("/logged")
    @inject
    @logged
    async def logged_route(
        request: web.Request, greeter: Greeter = Provide[Demo.greeter]
    ) -> web.Response:
        return web.Response()

    with pytest.raises(TypeError, match="only decorator"):
        bind_routes(table, Demo())
