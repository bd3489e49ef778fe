"""GET /openapi.json and GET /docs: the document covers the whole HTTP contract, is valid
OpenAPI 3.0, comes from the marshmallow schemas, and the Swagger UI is served offline."""

import json
import random
from collections.abc import Mapping
from typing import Any

import aiohttp
import jsonschema_rs
import pytest
import schemathesis
from aiohttp.test_utils import make_mocked_request
from marshmallow import Schema

from kv_api.infrastructure.settings import Settings
from kv_api.presentation.http.metrics import Metrics
from kv_api.presentation.openapi import build_openapi
from kv_api.presentation.routes import table
from kv_api.presentation.routes.accounts import schemas as accounts
from kv_api.presentation.routes.docs import ASSET_FILES
from kv_api.presentation.routes.kv import schemas as kv
from kv_api.presentation.routes.ops import OpsEndpoints
from kv_api.presentation.routes.users import schemas as users
from tests.conftest import unique_name
from tests.e2e.conftest import Client, bearer, register

DOC = build_openapi(Settings())
# Swagger UI's own files: served without a token, not part of the API
ASSET_PATHS = (*(f"/docs/{name}" for name in sorted(ASSET_FILES)), "/docs/swagger-initializer.js")
UNDOCUMENTED = {op.path for op in table.operations() if not op.documented}
# Every route of the HTTP contract (/work/shared/API.md).
CONTRACT = {
    "/api/register": {"post"},
    "/api/login": {"post"},
    "/api/logout": {"post"},
    "/api/users/me": {"get", "patch", "put", "delete"},
    "/api/write": {"post"},
    "/api/read": {"post"},
    "/api/delete": {"post"},
    "/api/keys": {"get"},
    "/api/watch": {"get"},
    "/health": {"get"},
    "/ready": {"get"},
    "/metrics": {"get"},
    "/docs": {"get"},
    "/openapi.json": {"get"},
    "/users/register": {"post"},
    "/users/login": {"post"},
    "/users/logout": {"post"},
    "/users": {"get", "put", "delete"},
}
REQUEST_SCHEMAS = {
    ("/api/register", "post"): accounts.RegisterRequest,
    ("/api/login", "post"): accounts.LoginRequest,
    ("/api/users/me", "patch"): accounts.UpdateProfileRequest,
    ("/api/users/me", "put"): accounts.UpdateProfileRequest,
    ("/api/write", "post"): kv.WriteRequest,
    ("/api/read", "post"): kv.ReadRequest,
    ("/api/delete", "post"): kv.DeleteRequest,
    ("/users/register", "post"): users.UsersRegisterRequest,
    ("/users/login", "post"): accounts.LoginRequest,
    ("/users", "put"): users.UsersUpdateRequest,
}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op) for path, item in DOC["paths"].items() for method, op in item.items()
    ]


def resolve(ref_or_object: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in ref_or_object:
        return ref_or_object
    node: Any = DOC
    for part in ref_or_object["$ref"].removeprefix("#/").split("/"):
        node = node[part]
    result: dict[str, Any] = node
    return result


def json_schema(node: Any) -> Any:
    """OpenAPI 3.0 `nullable` spelled in plain JSON Schema."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") and "type" in node:
        result["type"] = [node["type"], "null"]
    return result


def validator(schema: dict[str, Any]) -> Any:
    return jsonschema_rs.Draft4Validator(json_schema({**schema, "components": DOC["components"]}))


async def test_served_document_is_the_one_built_at_start_up(api: Client) -> None:
    resp = await api.get("/openapi.json")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.json() == build_openapi(Settings())
    assert await (await api.get("/openapi.json")).read() == await resp.read()


def test_document_is_valid_openapi_3() -> None:
    assert DOC["openapi"].startswith("3.0.")
    schemathesis.openapi.from_dict(DOC).validate()


def test_every_contract_route_and_method_is_documented() -> None:
    documented = {path: set(item) for path, item in DOC["paths"].items()}
    assert documented == CONTRACT


async def test_every_served_route_is_documented(api: Client) -> None:
    served = {
        (route.resource.canonical, route.method.lower())
        for route in api.app.router.routes()
        if route.resource is not None
        and route.method != "HEAD"
        and route.resource.canonical not in UNDOCUMENTED
    }
    assert served == {(path, method) for path, method, _ in operations()}


def test_public_operations_are_exactly_the_public_paths() -> None:
    public = {path for path, _, op in operations() if op.get("security") == []}
    assert public == table.public_routes() - UNDOCUMENTED
    for path, method, op in operations():
        assert "security" not in op or op["security"] == [], (path, method)


def test_bearer_security_scheme_is_the_default() -> None:
    assert DOC["security"] == [{"bearerAuth": []}]
    scheme = DOC["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


@pytest.mark.parametrize(("path", "method", "op"), operations())
def test_protected_operations_document_401_with_www_authenticate(
    path: str, method: str, op: dict[str, Any]
) -> None:
    if op.get("security") == []:
        # the logins: a wrong password; /metrics: the optional scrape token (KV_METRICS_TOKEN)
        allowed = {"/api/login", "/users/login", "/metrics"}
        assert "401" not in op["responses"] or path in allowed
        return
    unauthorized = resolve(op["responses"]["401"])
    assert unauthorized["headers"]["WWW-Authenticate"]["required"] is True
    assert "503" in op["responses"]


@pytest.mark.parametrize(("status", "header"), [("429", "Retry-After"), ("503", "Retry-After")])
def test_throttling_answers_document_retry_after(status: str, header: str) -> None:
    responses = [op["responses"][status] for _, _, op in operations() if status in op["responses"]]
    assert responses
    for response in responses:
        assert resolve(response)["headers"][header]["schema"]["type"] == "integer"


def test_error_schema_has_code_message_and_fields() -> None:
    error = DOC["components"]["schemas"]["ErrorDetail"]
    assert error["required"] == ["code", "message"]
    assert error["properties"]["fields"]["additionalProperties"]["items"] == {"type": "string"}
    for status in ("400", "401", "403", "409", "413", "422", "429", "503"):
        response = [
            op["responses"][status] for _, _, op in operations() if status in op["responses"]
        ]
        assert response, status
        body = resolve(response[0])["content"]["application/json"]
        assert body["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
        named = [example["value"] for example in body.get("examples", {}).values()]
        for example in [body["example"]] if "example" in body else named:
            assert validator(body["schema"]).is_valid(example), status


@pytest.mark.parametrize(("route", "schema"), REQUEST_SCHEMAS.items())
def test_request_bodies_come_from_the_marshmallow_schemas(
    route: tuple[str, str], schema: type[Schema]
) -> None:
    path, method = route
    body = DOC["paths"][path][method]["requestBody"]["content"]["application/json"]
    component = resolve(body["schema"])
    fields = schema().fields.values()
    assert set(component["properties"]) == {f.data_key or f.name for f in fields}
    assert set(component.get("required", [])) == {
        f.data_key or f.name for f in fields if f.required
    }
    for name, example in body.get("examples", {}).items():
        assert validator(body["schema"]).is_valid(example["value"]), name


def test_custom_fields_carry_their_json_schema() -> None:
    components = DOC["components"]["schemas"]
    data = components["WriteRequest"]["properties"]["data"]
    assert data["type"] == "object"
    assert data["minProperties"] == 1
    assert data["additionalProperties"] == {"$ref": "#/components/schemas/JsonValue"}
    keys = components["ReadRequest"]["properties"]["keys"]
    assert keys["type"] == "array"
    assert keys["minItems"] == 1
    assert keys["items"]["type"] == "string"


def test_json_values_allow_any_json_but_integers_past_64_bits() -> None:
    values = validator({"$ref": "#/components/schemas/JsonValue"})
    for good in ("text", 1.5, 2**64 - 1, -(2**63), True, [1, {"a": [None]}], {"x": {}}):
        assert values.is_valid(good), good
    for bad in (2**64, -(2**63) - 1, [2**70]):
        assert not values.is_valid(bad), bad


def test_query_parameters_of_list_keys() -> None:
    params = {p["name"]: p for p in DOC["paths"]["/api/keys"]["get"]["parameters"]}
    assert set(params) == {"prefix", "after", "limit"}
    assert all(p["in"] == "query" and not p["required"] for p in params.values())
    assert params["limit"]["schema"]["minimum"] == 1
    assert params["limit"]["schema"]["maximum"] == 1000


def test_limits_of_the_running_server_are_described() -> None:
    description = build_openapi(Settings(max_items=77, max_body_bytes=4096))["info"]["description"]
    assert "at most 77 pairs or keys" in description
    assert "4096 bytes per request body" in description


@pytest.mark.parametrize(("path", "body"), [("/api/users/me", {"first_name": "Ada"})])
async def test_strict_bodies_reject_undocumented_fields(
    api: Client, auth: dict[str, str], path: str, body: dict[str, Any]
) -> None:
    component = DOC["components"]["schemas"]["UpdateProfileRequest"]
    assert component["additionalProperties"] is False
    resp = await api.patch(path, json={**body, "nickname": "x"}, headers=auth)
    assert resp.status == 400
    assert "nickname" in (await resp.json())["error"]["fields"]


async def test_swagger_ui_page_is_public_and_uses_packaged_assets(api: Client) -> None:
    resp = await api.get("/docs")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    page = await resp.text()
    assert "http://" not in page and "https://" not in page
    for asset in ASSET_PATHS:
        if asset.endswith((".js", ".css")):
            assert f'"{asset}"' in page, asset


@pytest.mark.parametrize("asset", ASSET_PATHS)
async def test_swagger_ui_assets_are_served_without_a_token(api: Client, asset: str) -> None:
    resp = await api.get(asset)
    assert resp.status == 200, asset
    assert len(await resp.read()) > 100


async def test_swagger_ui_initializer_loads_our_document_offline(api: Client) -> None:
    script = await (await api.get("/docs/swagger-initializer.js")).text()
    assert 'url: "/openapi.json"' in script
    assert "persistAuthorization: true" in script
    assert "validatorUrl: null" in script


def assert_documented(
    path: str, method: str, status: int, body: Any, headers: Mapping[str, str]
) -> None:
    response = resolve(DOC["paths"][path][method]["responses"][str(status)])
    schema = response["content"]["application/json"]["schema"]
    assert validator(schema).is_valid(body), body
    for name, header in response.get("headers", {}).items():
        value: Any = headers[name]
        if header["schema"]["type"] == "integer":
            value = int(value)
        assert validator(header["schema"]).is_valid(value), (name, value)


# The fuzzer never meets these answers: a tiny body limit, a throttled login, a dead store.


async def test_payload_too_large_matches_the_document(make_api: Any) -> None:
    api = await make_api(max_body_bytes=1024)
    token = (await register(api))["token"]
    resp = await api.post("/api/write", json={"data": {"k": "x" * 2048}}, headers=bearer(token))
    assert resp.status == 413
    assert_documented("/api/write", "post", 413, await resp.json(), resp.headers)


async def test_rate_limited_login_matches_the_document(make_api: Any) -> None:
    api = await make_api(login_max_failures=1, login_window=60)
    address = "127.{}.{}.{}".format(*(random.randint(1, 254) for _ in range(3)))
    body = {"username": unique_name(), "password": "wrong-password"}
    connector = aiohttp.TCPConnector(local_addr=(address, 0))  # its own failure counter
    async with aiohttp.ClientSession(connector=connector) as session:
        for expected in (401, 429):
            async with session.post(api.make_url("/api/login"), json=body) as resp:
                assert resp.status == expected
                assert_documented("/api/login", "post", expected, await resp.json(), resp.headers)


class DeadStorage:
    async def ready(self) -> bool:
        return False


async def test_not_ready_matches_the_document() -> None:
    async def unused() -> None:
        raise AssertionError("not a scrape")

    endpoints = OpsEndpoints(DeadStorage(), Metrics(), None, unused)
    resp = await endpoints.ready(make_mocked_request("GET", "/ready"))
    assert resp.status == 503
    assert resp.body is not None
    assert_documented("/ready", "get", 503, json.loads(bytes(resp.body)), resp.headers)
