"""Expiry, versions and conditional writes through HTTP against the real app and Tarantool."""

import asyncio
import math
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from kv_api.presentation import housekeeping
from kv_api.presentation.app import CONTAINER
from tests.e2e.conftest import Client, bearer, register
from tests.e2e.kv_helpers import error_code, post, read, write
from tests.e2e.observability import scrape, value

Auth = dict[str, str]
BOTH = ["version", "expires_at"]


async def meta(api: Client, auth: Auth, keys: list[str], include: list[str]) -> Any:
    status, body = await post(api, "/api/read", auth, {"keys": keys, "include": include})
    assert status == 200, body
    return body


def unix(timestamp: str) -> int:
    return int(datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


async def wait_until_expired(api: Client, auth: Auth, keys: list[str]) -> None:
    """Sleeps until every key's expires_at is past (ttl=1: at most two seconds)."""
    answer = await meta(api, auth, keys, ["expires_at"])
    latest = max(unix(item["expires_at"]) for item in answer["meta"].values())
    assert latest - time.time() <= 2.0
    await asyncio.sleep(max(0.0, latest - time.time()) + 0.05)


async def test_an_expired_pair_is_gone_from_read_keys_and_delete_at_once(
    api: Client, auth: Auth
) -> None:
    await write(api, auth, {"t/a": 1, "t/b": 2, "t/kept": 3}, ttls={"t/a": 1, "t/b": 1})
    await wait_until_expired(api, auth, ["t/a", "t/b"])

    assert await read(api, auth, ["t/a", "t/b", "t/kept"]) == {
        "data": {"t/kept": 3},
        "not_found": ["t/a", "t/b"],
    }
    listed = await api.get("/api/keys", params={"prefix": "t/"}, headers=auth)
    assert await listed.json() == {"keys": ["t/kept"], "next": None}
    status, body = await post(api, "/api/delete", auth, {"keys": ["t/a", "t/kept"]})
    assert (status, body["deleted"]) == (200, 1)


async def test_the_purge_removes_expired_pairs_and_counts_them(
    make_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(housekeeping, "PURGE_EVERY", 0.1)
    api = await make_api()
    auth = bearer((await register(api))["token"])
    body = await write(
        api, auth, {"p1": 1, "p2": 2, "p3": 3, "kept": 4}, ttls=dict.fromkeys(["p1", "p2", "p3"], 1)
    )
    await wait_until_expired(api, auth, ["p1", "p2", "p3"])
    uid_of = "return box.space.kv_users.index.username:get(...)[1]"
    primary = api.app[CONTAINER].storage().primary
    user_id = await primary.eval(uid_of, [(await me(api, auth))["username"].casefold()])
    stored = "return box.space.kv_data.index.primary:select({...})"

    for _ in range(100):  # the purge runs every 0.1 s here: give it up to 10 s
        left = {row[1] for row in await primary.eval(stored, [user_id])}
        if left == {"kept"}:
            break
        await asyncio.sleep(0.1)
    assert left == {"kept"}
    # other tests' expired pairs in the shared Tarantool may be counted too
    assert value(await scrape(api), "kv_keys_total", operation="expired") >= 3
    later = await write(api, auth, {"kept": 5})
    assert later["revision"] > body["revision"] + 1  # the purge logged the expiries


async def me(api: Client, auth: Auth) -> Any:
    resp = await api.get("/api/users/me", headers=auth)
    assert resp.status == 200
    return await resp.json()


async def test_versions_increase_and_restart_at_1(api: Client, auth: Auth) -> None:
    revisions = []
    for value_ in ("a", "b", "c"):
        revisions.append((await write(api, auth, {"v": value_}))["revision"])
    assert (await meta(api, auth, ["v"], ["version"]))["meta"] == {"v": {"version": 3}}
    status, deleted = await post(api, "/api/delete", auth, {"keys": ["v"]})
    assert status == 200 and deleted["revision"] == revisions[-1] + 1
    revisions.append(deleted["revision"])
    revisions.append((await write(api, auth, {"v": "again"}))["revision"])
    assert (await meta(api, auth, ["v"], ["version"]))["meta"] == {"v": {"version": 1}}
    assert revisions == list(range(revisions[0], revisions[0] + 5))


async def test_a_409_leaves_every_pair_of_the_batch_unchanged(api: Client, auth: Auth) -> None:
    await write(api, auth, {"a": "a1", "b": "b1", "c": "c1"}, ttls={"c": 3600})
    await write(api, auth, {"a": "a2", "b": "b2"})
    before = await meta(api, auth, ["a", "b", "c", "d"], BOTH)
    assert before["meta"]["a"] == {"version": 2, "expires_at": None}

    body = {
        "data": {"a": "x", "b": "x", "c": "x", "d": "x"},
        "ttl": 60,
        "if_version": {"a": 2, "b": 1, "d": 0, "e": 4},
    }
    status, answer = await post(api, "/api/write", auth, body)
    assert status == 409
    assert answer == {
        "error": {
            "code": "version_conflict",
            "message": "2 key(s) are not at the expected version; nothing was applied",
            "conflicts": {"b": {"expected": 1, "current": 2}, "e": {"expected": 4, "current": 0}},
        }
    }
    assert await meta(api, auth, ["a", "b", "c", "d"], BOTH) == before

    status, answer = await post(
        api, "/api/delete", auth, {"keys": ["a", "c"], "if_version": {"c": 2}}
    )
    assert status == 409
    assert answer["error"]["conflicts"] == {"c": {"expected": 2, "current": 1}}
    assert await meta(api, auth, ["a", "b", "c", "d"], BOTH) == before


async def test_conditional_writes_and_deletes_that_hold(api: Client, auth: Auth) -> None:
    created = await write(api, auth, {"k": 1}, if_version={"k": 0})
    assert (created["written"], created["skipped"]) == (1, [])
    status, body = await post(api, "/api/write", auth, {"data": {"k": 2}, "if_version": {"k": 0}})
    assert (status, error_code(body)) == (409, "version_conflict")
    assert body["error"]["conflicts"] == {"k": {"expected": 0, "current": 1}}
    await write(api, auth, {"k": 2}, if_version={"k": 1})
    skipped = await write(api, auth, {"k": 3, "n": 1}, mode="insert", if_version={"k": 2})
    assert (skipped["written"], skipped["skipped"]) == (1, ["k"])
    status, body = await post(api, "/api/delete", auth, {"keys": ["k"], "if_version": {"k": 2}})
    assert (status, body["deleted"]) == (200, 1)


async def test_one_of_n_concurrent_conditional_writers_wins_each_version(
    api: Client, auth: Auth
) -> None:
    writers = 8
    await write(api, auth, {"counter": 0})
    for version in range(1, 5):
        bodies = [
            {"data": {"counter": w}, "if_version": {"counter": version}} for w in range(writers)
        ]
        answers = await asyncio.gather(*(post(api, "/api/write", auth, b) for b in bodies))
        winners = [w for w, (status, _) in enumerate(answers) if status == 200]
        assert len(winners) == 1, answers
        losers = [body for status, body in answers if status != 200]
        assert all(status in (200, 409) for status, _ in answers)
        for body in losers:
            assert body["error"]["conflicts"] == {
                "counter": {"expected": version, "current": version + 1}
            }
        answer = await meta(api, auth, ["counter"], ["version"])
        assert answer["data"] == {"counter": winners[0]}
        assert answer["meta"] == {"counter": {"version": version + 1}}


async def test_include_version_expires_at_or_both(api: Client, auth: Auth) -> None:
    before = time.time()
    await write(api, auth, {"a": 1, "b": [2]}, ttls={"a": 100})
    after = time.time()
    keys = ["a", "b", "missing"]
    data = {"a": 1, "b": [2]}

    only_version = await meta(api, auth, keys, ["version"])
    assert only_version == {
        "data": data,
        "not_found": ["missing"],
        "meta": {"a": {"version": 1}, "b": {"version": 1}},
    }
    only_expiry = await meta(api, auth, keys, ["expires_at"])
    assert only_expiry["meta"]["b"] == {"expires_at": None}
    expires_at = only_expiry["meta"]["a"]["expires_at"]
    assert math.ceil(before + 100) <= unix(expires_at) <= math.ceil(after + 100)
    both = await meta(api, auth, keys, ["expires_at", "version"])
    assert both["meta"] == {
        "a": {"version": 1, "expires_at": expires_at},
        "b": {"version": 1, "expires_at": None},
    }


async def test_a_read_without_include_is_answered_as_before(api: Client, auth: Auth) -> None:
    await write(api, auth, {"a": 1}, ttl=100)
    expected = {"data": {"a": 1}, "not_found": ["z"]}
    assert await read(api, auth, ["a", "z"]) == expected
    for extra in ({"include": []}, {"other": 1}):
        status, body = await post(api, "/api/read", auth, {"keys": ["a", "z"], **extra})
        assert (status, body) == (200, expected)


@pytest.mark.parametrize("include", [["size"], ["version", "VERSION"], "version", [1], None])
async def test_an_unknown_include_is_a_400(api: Client, auth: Auth, include: Any) -> None:
    status, body = await post(api, "/api/read", auth, {"keys": ["a"], "include": include})
    assert (status, error_code(body)) == (400, "validation_error")
    assert "include" in body["error"]["fields"]


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"ttl": 4}, None),  # the batch's own ttl: no key named
        ({"ttl": 101}, None),
        ({"ttl": 10**30}, None),
        ({"ttls": {"ttl": 3}}, "ttl"),  # a key that happens to be called "ttl"
        ({"ttls": {"b": 3}}, "b"),
        ({"ttl": 50, "ttls": {"a": 50, "b": 1000}}, "b"),
        ({"ttls": {"not-written": 0}}, "not-written"),
    ],
)
async def test_a_ttl_out_of_bounds_is_a_400_naming_the_key(
    make_api: Any, options: dict[str, Any], key: str | None
) -> None:
    api = await make_api(min_ttl=5, max_ttl=100)
    auth = bearer((await register(api))["token"])
    body = {"data": {"a": 1, "b": 2}, **options}
    status, answer = await post(api, "/api/write", auth, body)
    assert (status, error_code(answer)) == (400, "invalid_ttl")
    assert answer["error"].get("key") == key
    subject = "ttl:" if key is None else f"ttl of key {key!r}:"
    assert answer["error"]["message"].startswith(subject)
    assert "between 5 and 100 seconds" in answer["error"]["message"]
    assert await read(api, auth, ["a", "b"]) == {"data": {}, "not_found": ["a", "b"]}
    for bound in (5, 100):  # the bounds themselves are accepted
        await write(api, auth, {"a": 1}, ttl=bound, ttls={"b": bound})


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"data": {"a": 1}, "ttl": 1.5}, "validation_error"),
        ({"data": {"a": 1}, "ttl": "60"}, "validation_error"),
        ({"data": {"a": 1}, "ttl": None}, "validation_error"),
        ({"data": {"a": 1}, "ttls": {"a": True}}, "validation_error"),
        ({"data": {"a": 1}, "if_version": {"a": -1}}, "invalid_version"),
        ({"data": {"a": 1}, "if_version": {"a": 2**63}}, "invalid_version"),
        ({"data": {"a": 1}, "if_version": {"a": 2**64 + 1}}, "invalid_version"),
        ({"data": {"a": 1}, "if_version": {"": 1}}, "invalid_key"),
        ({"data": {"a": 1}, "if_version": {"a": "1"}}, "validation_error"),
        ({"data": {"a": 1}, "if_version": [1]}, "validation_error"),
        ({"keys": ["a"], "if_version": {"a": -1}}, "invalid_version"),
    ],
)
async def test_bad_options_are_a_400(
    api: Client, auth: Auth, body: dict[str, Any], code: str
) -> None:
    path = "/api/write" if "data" in body else "/api/delete"
    await write(api, auth, {"a": "kept"})
    status, answer = await post(api, path, auth, body)
    assert (status, error_code(answer)) == (400, code), answer
    assert await read(api, auth, ["a"]) == {"data": {"a": "kept"}, "not_found": []}
