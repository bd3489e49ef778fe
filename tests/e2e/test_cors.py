"""CORS (KV_CORS_ORIGINS): preflights answered for the listed origins only, answers readable
there, credentials never allowed, other origins without any CORS header, and the 404 and 405
of unknown routes and methods as before."""

from collections.abc import Awaitable, Callable

import pytest

from kv_api.presentation.routes import table
from tests.e2e.conftest import Client, bearer, register
from tests.e2e.kv_helpers import write
from tests.e2e.watch_helpers import EventReader

ORIGIN = "https://app.example.com"
OTHER = "https://elsewhere.example.com"
MakeApi = Callable[..., Awaitable[Client]]
# every method of every route of the API: the origins listed may call each of them
API_METHODS = sorted((op.path, op.method.upper()) for op in table.operations() if op.documented)


def cors_headers(headers: object) -> dict[str, str]:
    assert hasattr(headers, "items")
    return {k: v for k, v in headers.items() if k.lower().startswith("access-control-")}


def preflight(method: str, origin: str = ORIGIN, headers: str = "") -> dict[str, str]:
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        sent["Access-Control-Request-Headers"] = headers
    return sent


@pytest.fixture
async def cors_api(make_api: MakeApi) -> Client:
    return await make_api(cors_origins=(ORIGIN, "http://localhost:3000"))


async def test_without_the_setting_there_is_no_preflight_and_no_cors_header(api: Client) -> None:
    resp = await api.options("/api/read", headers=preflight("POST"))
    assert resp.status == 405
    assert "OPTIONS" not in resp.headers["Allow"]
    assert (await resp.json())["error"]["code"] == "method_not_allowed"
    assert cors_headers(resp.headers) == {}
    resp = await api.get("/health", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert cors_headers(resp.headers) == {}


@pytest.mark.parametrize(("path", "method"), API_METHODS)
async def test_a_listed_origin_may_call_every_route_of_the_api(
    cors_api: Client, path: str, method: str
) -> None:
    asked = "authorization, content-type, last-event-id, x-request-id"
    resp = await cors_api.options(path, headers=preflight(method, headers=asked))
    assert resp.status == 200, await resp.text()
    allowed = cors_headers(resp.headers)
    assert allowed.pop("Access-Control-Allow-Origin") == ORIGIN
    assert allowed.pop("Access-Control-Allow-Methods") == method
    assert allowed.pop("Access-Control-Max-Age") == "600"
    named = allowed.pop("Access-Control-Allow-Headers")
    assert {h.strip().lower() for h in named.split(",")} == {
        "authorization",
        "content-type",
        "last-event-id",
        "x-request-id",
    }
    assert allowed == {}, "credentials are never allowed"
    assert resp.headers["X-Request-ID"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("sent", "says"),
    [
        (preflight("POST", origin=OTHER), f"origin '{OTHER}' is not allowed"),
        (preflight("POST", origin="null"), "origin 'null' is not allowed"),
        (preflight("POST", origin=ORIGIN + ":8443"), "is not allowed"),
        (preflight("GET"), "request method 'GET' is not allowed"),
        (preflight("POST", headers="authorization, x-other"), "headers are not allowed: X-OTHER"),
        ({"Access-Control-Request-Method": "POST"}, "origin header is not specified"),
        ({"Origin": ORIGIN}, "'Access-Control-Request-Method' header is not specified"),
    ],
)
async def test_any_other_preflight_is_refused_without_cors_headers(
    cors_api: Client, sent: dict[str, str], says: str
) -> None:
    resp = await cors_api.options("/api/read", headers=sent)
    assert resp.status == 403
    body = await resp.json()
    assert body["error"]["code"] == "forbidden"
    assert says in body["error"]["message"]
    assert cors_headers(resp.headers) == {}
    assert resp.headers["X-Request-ID"]


async def test_answers_to_a_listed_origin_are_readable_there(cors_api: Client) -> None:
    user = await register(cors_api)
    sent = {**bearer(user["token"]), "Origin": ORIGIN, "Cookie": "session=anything"}
    resp = await cors_api.post("/api/read", json={"keys": ["k"]}, headers=sent)
    assert resp.status == 200
    exposed = cors_headers(resp.headers)
    assert exposed.pop("Access-Control-Allow-Origin") == ORIGIN
    names = exposed.pop("Access-Control-Expose-Headers")
    assert {h.strip() for h in names.split(",")} == {"X-Request-ID", "Retry-After"}
    assert exposed == {}, "never Access-Control-Allow-Credentials, even with a cookie"
    refused = await cors_api.post("/api/read", json={"keys": ["k"]}, headers={"Origin": ORIGIN})
    assert refused.status == 401  # errors too: the page can read why
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert refused.headers["WWW-Authenticate"] == "Bearer"


async def test_answers_to_other_origins_carry_no_cors_header(cors_api: Client) -> None:
    user = await register(cors_api)
    for origin in (OTHER, "null", ORIGIN.upper()):
        resp = await cors_api.post(
            "/api/read", json={"keys": ["k"]}, headers={**bearer(user["token"]), "Origin": origin}
        )
        assert resp.status == 200
        assert cors_headers(resp.headers) == {}
    plain = await cors_api.get("/health")
    assert cors_headers(plain.headers) == {}


async def test_unknown_routes_and_methods_answer_as_before(cors_api: Client) -> None:
    unknown = await cors_api.options("/no/such/route", headers=preflight("GET"))
    assert unknown.status == 404
    assert (await unknown.json())["error"]["code"] == "not_found"
    assert cors_headers(unknown.headers) == {}
    wrong = await cors_api.get("/api/read", headers={"Origin": ORIGIN})
    assert wrong.status == 405
    assert set(wrong.headers["Allow"].split(",")) == {"OPTIONS", "POST"}
    assert (await wrong.json())["error"]["code"] == "method_not_allowed"
    assert cors_headers(wrong.headers) == {}


@pytest.mark.parametrize("path", ["/console", "/console/console.js", "/docs/swagger-ui.css"])
async def test_the_pages_files_are_not_offered_to_other_origins(
    cors_api: Client, path: str
) -> None:
    resp = await cors_api.options(path, headers=preflight("GET"))
    assert resp.status == 405
    got = await cors_api.get(path, headers={"Origin": ORIGIN})
    assert got.status == 200
    assert cors_headers(got.headers) == {}


async def test_the_event_stream_is_readable_from_a_listed_origin(cors_api: Client) -> None:
    user = await register(cors_api)
    auth = bearer(user["token"])
    written = await write(cors_api, auth, {"k": 1})
    headers = {
        **auth,
        "Origin": ORIGIN,
        "Accept": "text/event-stream",
        "Last-Event-ID": str(written["revision"] - 1),
    }
    resp = await cors_api.get("/api/watch", headers=headers)
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Request-ID" in resp.headers["Access-Control-Expose-Headers"]
    event = await EventReader(resp).next()
    assert event is not None
    assert event["data"]["key"] == "k"
    assert event["id"] == str(written["revision"])
    resp.close()
