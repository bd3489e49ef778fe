"""The OpenAPI document states expiry, versions and conditional writes exactly: the TTL bounds of
the running server, the meta of a read, the revision of write and delete, and the 409 body."""

from typing import Any

import pytest

from kv_api.infrastructure.settings import Settings
from kv_api.presentation.openapi import build_openapi
from tests.e2e.conftest import Client, bearer, register
from tests.e2e.kv_helpers import post
from tests.e2e.test_openapi import assert_documented, resolve, validator

DOC = build_openapi(Settings())
SCHEMAS = DOC["components"]["schemas"]


def ttl_bounds(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    write = document["components"]["schemas"]["WriteRequest"]["properties"]
    return write["ttl"], write["ttls"]["additionalProperties"]


def test_ttl_bounds_come_from_the_settings() -> None:
    ttl, per_key = ttl_bounds(build_openapi(Settings(min_ttl=5, max_ttl=600)))
    assert (ttl["type"], ttl["minimum"], ttl["maximum"]) == ("integer", 5, 600)
    assert (per_key["type"], per_key["minimum"], per_key["maximum"]) == ("integer", 5, 600)
    description = build_openapi(Settings(min_ttl=5, max_ttl=600))["info"]["description"]
    assert "TTL is 5 to 600 seconds" in description


def test_documents_built_with_other_settings_do_not_leak_into_each_other() -> None:
    first = build_openapi(Settings(min_ttl=2, max_ttl=20))
    build_openapi(Settings(min_ttl=3, max_ttl=30))
    assert [bound["maximum"] for bound in ttl_bounds(first)] == [20, 20]
    assert [bound["maximum"] for bound in ttl_bounds(DOC)] == [Settings().max_ttl] * 2


@pytest.mark.parametrize("schema", ["WriteRequest", "DeleteRequest"])
def test_if_version_is_a_map_of_versions_within_64_bits(schema: str) -> None:
    if_version = SCHEMAS[schema]["properties"]["if_version"]
    assert if_version["type"] == "object"
    assert if_version["additionalProperties"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 2**63 - 1,
    }
    values = validator(if_version)
    assert values.is_valid({"k": 0}) and values.is_valid({"k": 2**63 - 1})
    assert not values.is_valid({"k": -1}) and not values.is_valid({"k": 2**63})
    assert not values.is_valid({"": 1})


def test_include_is_a_list_of_version_and_expires_at() -> None:
    include = SCHEMAS["ReadRequest"]["properties"]["include"]
    assert include["type"] == "array"
    assert include["items"] == {"type": "string", "enum": ["version", "expires_at"]}


def test_read_meta_and_revisions_are_described() -> None:
    meta = resolve(SCHEMAS["ReadResponse"]["properties"]["meta"]["additionalProperties"])
    assert set(meta["properties"]) == {"version", "expires_at"}
    assert meta["properties"]["expires_at"]["nullable"] is True
    assert "meta" not in SCHEMAS["ReadResponse"]["required"]
    for response in ("WriteResponse", "DeleteResponse"):
        assert SCHEMAS[response]["properties"]["revision"]["type"] == "integer"
        assert "revision" in SCHEMAS[response]["required"]


@pytest.mark.parametrize("path", ["/api/write", "/api/delete", "/api/register"])
def test_409_describes_both_conflicts(path: str) -> None:
    conflict = resolve(DOC["paths"][path]["post"]["responses"]["409"])
    assert "username_taken" in conflict["description"]
    assert "version_conflict" in conflict["description"]
    examples = conflict["content"]["application/json"]["examples"]
    assert set(examples) == {"username_taken", "version_conflict"}
    schema = conflict["content"]["application/json"]["schema"]
    for example in examples.values():
        assert validator(schema).is_valid(example["value"])
    bad = {"error": {"code": "version_conflict", "message": "m", "conflicts": {"k": {}}}}
    assert not validator(schema).is_valid(bad)


async def test_a_real_version_conflict_matches_the_document(api: Client) -> None:
    auth = bearer((await register(api))["token"])
    assert (await post(api, "/api/write", auth, {"data": {"k": 1}}))[0] == 200
    for path, body in [
        ("/api/write", {"data": {"k": 2}, "if_version": {"k": 5, "gone": 1}}),
        ("/api/delete", {"keys": ["k"], "if_version": {"k": 0}}),
    ]:
        resp = await api.post(path, json=body, headers=auth)
        assert resp.status == 409
        assert_documented(path, "post", 409, await resp.json(), resp.headers)


async def test_read_with_meta_and_revisions_match_the_document(api: Client) -> None:
    auth = bearer((await register(api))["token"])
    body = {"data": {"a": 1, "b": 2}, "ttl": 60}
    for path, request in [
        ("/api/write", body),
        ("/api/read", {"keys": ["a", "b", "c"], "include": ["version", "expires_at"]}),
        ("/api/read", {"keys": ["a"], "include": ["version"]}),
        ("/api/delete", {"keys": ["a"], "if_version": {"a": 1}}),
    ]:
        resp = await api.post(path, json=request, headers=auth)
        assert resp.status == 200
        assert_documented(path, "post", 200, await resp.json(), resp.headers)
