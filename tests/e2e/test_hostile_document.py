"""The OpenAPI document accepts exactly what the server accepts, and the body and query
parsers refuse what is not JSON over HTTP or not a plain number."""

import base64
import json
from typing import Any

import jsonschema_rs
import pytest

from kv_api.infrastructure.settings import Settings
from kv_api.presentation.openapi import build_openapi
from tests.e2e.conftest import Client, bearer, register

DOCUMENT = build_openapi(Settings())
SCHEMAS = DOCUMENT["components"]["schemas"]
NAMES = ["0000", "K+¬", "a1", " Ann", "José", "Zoë", "O'Brien", "Anne-Marie", "e\u0301va", "李"]
CURSORS = [
    "",
    "a",
    "!!!!",
    "a b",
    "AAAA",
    "_-8",
    "a2V5MQ",
    base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("="),
]


def documented(schema: dict[str, Any], value: Any) -> bool:
    plain = {k: v for k, v in schema.items() if k not in {"nullable", "default", "example"}}
    return bool(jsonschema_rs.validator_for(plain).is_valid(value))


@pytest.mark.parametrize("field", ["first_name", "last_name"])
@pytest.mark.parametrize("name", NAMES)
async def test_a_name_is_accepted_exactly_when_the_document_allows_it(
    api: Client, field: str, name: str
) -> None:
    schema = SCHEMAS["RegisterRequest"]["properties"][field]
    user = await register(api)
    resp = await api.patch("/api/users/me", json={field: name}, headers=bearer(user["token"]))
    assert (resp.status == 200) == documented(schema, name), await resp.text()


@pytest.mark.parametrize("cursor", CURSORS)
async def test_a_cursor_is_accepted_exactly_when_the_document_allows_it(
    api: Client, auth: dict[str, str], cursor: str
) -> None:
    params = DOCUMENT["paths"]["/api/keys"]["get"]["parameters"]
    schema = next(p for p in params if p["name"] == "after")["schema"]
    resp = await api.get("/api/keys", params={"after": cursor}, headers=auth)
    assert (resp.status == 200) == documented(schema, cursor), await resp.text()


@pytest.mark.parametrize("limit", [" 5", "5 ", "\u0661", "\u0665", "+5", "5_0", "0x5"])
async def test_a_limit_that_is_not_plain_digits_is_refused(
    api: Client, auth: dict[str, str], limit: str
) -> None:
    resp = await api.get("/api/keys", params={"limit": limit}, headers=auth)
    assert resp.status == 400


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"])
async def test_a_body_not_in_utf8_is_refused(api: Client, codec: str) -> None:
    body = json.dumps({"username": "someone", "password": "correct-horse-9"}).encode(codec)
    resp = await api.post("/api/login", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("depth", [1023, 1100, 5000])
async def test_deep_nesting_is_the_depth_error(
    api: Client, auth: dict[str, str], depth: int
) -> None:
    body = '{"data": {"k": ' + "[" * depth + "]" * depth + "}}"
    resp = await api.post(
        "/api/write", data=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] != "invalid_json", await resp.text()
