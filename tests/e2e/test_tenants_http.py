"""Tenants through HTTP: usage in the profile, the quota refusal as documented, closed
registration, each user's cap of requests in flight, and the users near their quota in
/metrics."""

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kv_api.application.users.quota import SetQuota
from kv_api.domain.quotas import Own, QuotaPolicy
from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.presentation.app import CONTAINER, IN_FLIGHT
from tests.e2e.conftest import PASSWORD, Client, bearer, register
from tests.e2e.observability import parse_metrics, value
from tests.e2e.test_openapi import assert_documented
from tests.integration.conftest import STORED_USAGE
from tests.support.raw_http import connect, read_response
from tests.support.waiting import until

DEFAULTS = QuotaPolicy().defaults


async def _set_quota(api: Client, username: str, **limits: Any) -> None:
    assert await api.server.app[CONTAINER].set_quota()(SetQuota(username, **limits))


async def _app_user_id(api: Client, username: str) -> int:
    found = await api.server.app[CONTAINER].users().by_username(username.casefold())
    assert found is not None
    return int(found.id)


async def _user_id(store: TarantoolClient, username: str) -> int:
    code = "return box.space.kv_users.index.username:get(...)[1]"
    return int(await store.eval(code, [username.casefold()]))


async def test_the_profile_shows_exact_usage_on_both_faces(
    api: Client, store: TarantoolClient
) -> None:
    user = await register(api)
    auth = bearer(user["token"])
    data = {"a": "x" * 100, "b": {"nested": [1, 2.5, None]}, "c": True}
    assert (await api.post("/api/write", json={"data": data}, headers=auth)).status == 200
    assert (await api.post("/api/delete", json={"keys": ["c"]}, headers=auth)).status == 200
    keys, size = await store.eval(STORED_USAGE, [await _user_id(store, user["username"])])
    expected = {"keys": 2, "bytes": size, "max_keys": DEFAULTS.keys, "max_bytes": DEFAULTS.bytes}
    assert keys == 2

    me = await api.get("/api/users/me", headers=auth)
    assert (await me.json())["usage"] == expected
    assert_documented("/api/users/me", "get", 200, await me.json(), me.headers)
    old_face = await api.get("/users", headers=auth)
    assert (await old_face.json())["usage"] == expected
    assert_documented("/users", "get", 200, await old_face.json(), old_face.headers)

    await _set_quota(api, user["username"], keys=Own.UNLIMITED, bytes=10**6)
    usage = (await (await api.get("/api/users/me", headers=auth)).json())["usage"]
    assert (usage["max_keys"], usage["max_bytes"]) == (None, 10**6)


async def test_a_write_past_the_quota_is_507_as_documented(api: Client) -> None:
    user, other = await register(api), await register(api)
    auth = bearer(user["token"])
    await _set_quota(api, user["username"], keys=2)
    assert (await api.post("/api/write", json={"data": {"a": 1}}, headers=auth)).status == 200

    resp = await api.post("/api/write", json={"data": {"b": 2, "c": 3}}, headers=auth)

    assert resp.status == 507
    body = await resp.json()
    assert_documented("/api/write", "post", 507, body, resp.headers)
    error = body["error"]
    assert error["code"] == "quota_exceeded" and "keys 3 over the limit of 2" in error["message"]
    assert error["usage"]["keys"] == 1 and error["limit"] == {"keys": 2, "bytes": DEFAULTS.bytes}
    read = await api.post("/api/read", json={"keys": ["a", "b", "c"]}, headers=auth)
    assert (await read.json())["data"] == {"a": 1}
    others = {"data": {"b": 2, "c": 3}}
    assert (await api.post("/api/write", json=others, headers=bearer(other["token"]))).status == 200
    assert (await api.post("/api/delete", json={"keys": ["a"]}, headers=auth)).status == 200
    assert (
        await api.post("/api/write", json={"data": {"b": 2, "c": 3}}, headers=auth)
    ).status == 200


async def test_closed_registration_leaves_accounts_to_the_operator(make_api: Any) -> None:
    api = await make_api(registration="closed", bootstrap_user=("boss_closed", "boss-password-1"))
    for path in ("/api/register", "/users/register"):
        resp = await api.post(path, json={"username": "newcomer", "password": PASSWORD})
        assert resp.status == 403, path
        body = await resp.json()
        assert body["error"]["code"] == "registration_closed", body
        assert_documented(path, "post", 403, body, resp.headers)
    garbage = await api.post("/api/register", data=b"not json")  # refused before the body
    assert garbage.status == 403
    login = {"username": "boss_closed", "password": "boss-password-1"}
    assert (await api.post("/api/login", json=login)).status == 200


class SlowUpload:
    """A write whose body arrives only when told: its request stays in progress until then."""

    def __init__(self, port: int, token: str) -> None:
        self.body = json.dumps({"data": {"slow": 1}}).encode()
        self.sock = connect(port)
        head = (
            f"POST /api/write HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(self.body)}\r\n\r\n"
        )
        self.sock.sendall(head.encode() + self.body[:5])

    def finish(self) -> int:
        self.sock.sendall(self.body[5:])
        answer = read_response(self.sock)
        self.sock.close()
        return 0 if answer is None else answer.status


@pytest.fixture
def uploads() -> Iterator[list[SlowUpload]]:
    started: list[SlowUpload] = []
    yield started
    for upload in started:
        with contextlib.suppress(OSError):
            upload.sock.close()


async def test_one_users_requests_in_flight_are_capped(
    make_api: Any, uploads: list[SlowUpload]
) -> None:
    api = await make_api(user_max_inflight=2)
    user, other = await register(api), await register(api)
    auth, share = bearer(user["token"]), api.server.app[CONTAINER].user_share()
    uid = await _app_user_id(api, user["username"])
    port = api.server.port
    assert port is not None
    uploads += [SlowUpload(port, user["token"]) for _ in range(2)]
    await until(lambda: share.holding(uid) == 2, "both slow writes are in progress")

    started = time.monotonic()
    refused = await api.post("/api/read", json={"keys": ["k"]}, headers=auth)
    assert refused.status == 429 and refused.headers["Retry-After"] == "1"
    assert time.monotonic() - started >= share.hold * 0.9  # a loop of refusals is paced
    body = await refused.json()
    assert body["error"]["code"] == "too_many_requests"
    assert_documented("/api/read", "post", 429, body, refused.headers)
    others = await api.post("/api/read", json={"keys": ["k"]}, headers=bearer(other["token"]))
    assert others.status == 200
    watch = await api.get("/api/watch?timeout=0.1", headers=auth)  # watches are not counted
    assert watch.status == 200

    statuses = await asyncio.gather(*(asyncio.to_thread(u.finish) for u in uploads))
    assert statuses == [200, 200]
    await until(lambda: share.holding(uid) == 0, "the slow writes are answered")
    assert (await api.post("/api/read", json={"keys": ["k"]}, headers=auth)).status == 200


async def test_a_held_refusal_is_answered_at_once_when_the_drain_begins(
    make_api: Any, uploads: list[SlowUpload]
) -> None:
    api = await make_api(user_max_inflight=1)
    user = await register(api)
    share = api.server.app[CONTAINER].user_share()
    port = api.server.port
    assert port is not None
    uid = await _app_user_id(api, user["username"])
    uploads.append(SlowUpload(port, user["token"]))
    await until(lambda: share.holding(uid) == 1, "the slow write holds the user's one slot")
    started = time.monotonic()
    refused = asyncio.ensure_future(
        api.post("/api/read", json={"keys": ["k"]}, headers=bearer(user["token"]))
    )
    await asyncio.sleep(0.2)
    api.server.app[IN_FLIGHT].stop_waiting()
    assert (await refused).status == 429
    assert time.monotonic() - started < share.hold


async def test_metrics_count_the_users_at_and_near_their_quota(make_api: Any) -> None:
    api = await make_api(metrics_token=None)
    user = await register(api)
    auth = bearer(user["token"])

    async def gauges() -> tuple[float, float]:
        samples = parse_metrics(await (await api.get("/metrics")).text())
        return value(samples, "kv_users_at_quota"), value(samples, "kv_users_near_quota")

    at, near = await gauges()
    await _set_quota(api, user["username"], keys=10)
    await api.post("/api/write", json={"data": {f"k{i}": i for i in range(9)}}, headers=auth)
    assert await gauges() == (at, near + 1)
    await api.post("/api/write", json={"data": {"k9": 9}}, headers=auth)
    assert await gauges() == (at + 1, near + 1)
    text = await (await api.get("/metrics")).text()
    assert user["username"] not in text and "user=" not in text
