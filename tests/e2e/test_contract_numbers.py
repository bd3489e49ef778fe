"""Every number a client sends is bounded by its schema and by the OpenAPI document before it
reaches Tarantool: outside its bounds it is a 400 naming the field (never a 500 from the
driver), and at its bounds it is accepted."""

from typing import Any

import pytest

from kv_api.domain.changes import MAX_REVISION
from kv_api.domain.keys import MAX_VERSION
from kv_api.infrastructure.settings import Settings
from tests.e2e.conftest import Client
from tests.e2e.kv_helpers import error_code, post, write
from tests.e2e.watch_helpers import poll

HUGE = 2**64  # past every integer the driver can send
MAX_TTL = Settings().max_ttl


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": -1}, "since"),
        ({"since": MAX_REVISION + 1}, "since"),
        ({"since": HUGE}, "since"),
        ({"since": 10**40}, "since"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": HUGE}, "limit"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": 3600.5}, "timeout"),
        ({"timeout": "1e400"}, "timeout"),
    ],
    ids=repr,
)
async def test_watch_numbers_out_of_bounds_are_400_naming_the_parameter(
    api: Client, auth: dict[str, str], query: dict[str, Any], field: str
) -> None:
    status, body = await poll(api, auth, **query)
    assert status == 400, body
    assert error_code(body) == "validation_error"
    assert list(body["error"]["fields"]) == [field]


async def test_a_negative_since_is_told_its_bound(api: Client, auth: dict[str, str]) -> None:
    status, body = await poll(api, auth, since=-1)
    assert status == 400
    assert body["error"]["fields"]["since"] == [f"must be a revision, from 0 to {MAX_REVISION}"]


async def test_watch_numbers_at_their_bounds_are_answered(
    api: Client, auth: dict[str, str]
) -> None:
    first = await write(api, auth, {"k": 1})
    status, body = await poll(api, auth, since=MAX_REVISION, limit=1000, timeout=0)
    assert (status, body) == (200, {"changes": [], "revision": first["revision"]})
    status, body = await poll(api, auth, since=0, limit=1, timeout=3600)
    assert status == 200 and body["revision"] == first["revision"]


@pytest.mark.parametrize("limit", [0, 1001, HUGE, -5])
async def test_a_listing_limit_out_of_bounds_is_400_naming_it(
    api: Client, auth: dict[str, str], limit: int
) -> None:
    resp = await api.get("/api/keys", params={"limit": str(limit)}, headers=auth)
    body = await resp.json()
    assert resp.status == 400, body
    assert list(body["error"]["fields"]) == ["limit"]


@pytest.mark.parametrize(
    ("extra", "code", "key"),
    [
        ({"ttl": 0}, "invalid_ttl", None),
        ({"ttl": MAX_TTL + 1}, "invalid_ttl", None),
        ({"ttl": HUGE}, "invalid_ttl", None),
        ({"ttls": {"k": MAX_TTL + 1}}, "invalid_ttl", "k"),
        ({"ttls": {"k": -(2**70)}}, "invalid_ttl", "k"),
        ({"if_version": {"k": -1}}, "invalid_version", "k"),
        ({"if_version": {"k": MAX_VERSION + 1}}, "invalid_version", "k"),
        ({"if_version": {"k": HUGE}}, "invalid_version", "k"),
    ],
    ids=repr,
)
async def test_write_numbers_out_of_bounds_are_400_naming_the_key(
    api: Client, auth: dict[str, str], extra: dict[str, Any], code: str, key: str | None
) -> None:
    status, body = await post(api, "/api/write", auth, {"data": {"k": 1}, **extra})
    assert status == 400, body
    assert error_code(body) == code
    assert body["error"].get("key") == key


@pytest.mark.parametrize("version", [-1, MAX_VERSION + 1, HUGE])
async def test_delete_versions_out_of_bounds_are_400_naming_the_key(
    api: Client, auth: dict[str, str], version: int
) -> None:
    status, body = await post(
        api, "/api/delete", auth, {"keys": ["k"], "if_version": {"k": version}}
    )
    assert status == 400, body
    assert (error_code(body), body["error"]["key"]) == ("invalid_version", "k")


async def test_write_numbers_at_their_bounds_are_accepted(
    api: Client, auth: dict[str, str]
) -> None:
    status, body = await post(
        api, "/api/write", auth, {"data": {"k": 1}, "ttl": MAX_TTL, "ttls": {"k": 1}}
    )
    assert status == 200, body
    status, body = await post(
        api, "/api/write", auth, {"data": {"k": 2}, "if_version": {"k": MAX_VERSION}}
    )
    assert (status, error_code(body)) == (409, "version_conflict")
