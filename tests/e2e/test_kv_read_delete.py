from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.e2e.conftest import Client, bearer, register
from tests.e2e.kv_helpers import error_code, post, post_raw, read, write

MakeApi = Callable[..., Awaitable[Client]]


async def test_read_returns_found_and_not_found_in_request_order(
    api: Client, auth: dict[str, str]
) -> None:
    await write(api, auth, {"b": 2, "a": 1, "c": 3})

    body = await read(api, auth, ["c", "zz", "a", "missing", "b"])

    assert body == {"data": {"c": 3, "a": 1, "b": 2}, "not_found": ["zz", "missing"]}
    assert list(body["data"]) == ["c", "a", "b"]


async def test_read_answers_duplicate_keys_once(api: Client, auth: dict[str, str]) -> None:
    await write(api, auth, {"a": 1})

    body = await read(api, auth, ["a", "x", "a", "x", "a"])

    assert body == {"data": {"a": 1}, "not_found": ["x"]}


async def test_read_of_only_missing_keys(api: Client, auth: dict[str, str]) -> None:
    assert await read(api, auth, ["nope"]) == {"data": {}, "not_found": ["nope"]}


READ_ERRORS: list[tuple[Any, str]] = [
    ({}, "keys"),
    ({"keys": None}, "keys"),
    ({"keys": []}, "keys"),
    ({"keys": "key1"}, "keys"),
    ({"keys": {"key1": 1}}, "keys"),
    ({"keys": ["ok", 1]}, "keys"),
    ({"keys": ["ok", None]}, "keys"),
    ({"keys": [["nested"]]}, "keys"),
    ({"data": {"a": 1}}, "keys"),
]


@pytest.mark.parametrize("route", ["/api/read", "/api/delete"])
@pytest.mark.parametrize(("body", "field"), READ_ERRORS)
async def test_invalid_keys_body_names_the_field(
    api: Client, auth: dict[str, str], route: str, body: Any, field: str
) -> None:
    status, answer = await post(api, route, auth, body)

    assert status == 400
    assert error_code(answer) == "validation_error"
    assert list(answer["error"]["fields"]) == [field]


@pytest.mark.parametrize("route", ["/api/read", "/api/delete"])
@pytest.mark.parametrize("raw", ["", "[", '["a"]', '{"keys": [NaN]}', "null"])
async def test_malformed_keys_body_is_400(
    api: Client, auth: dict[str, str], route: str, raw: str
) -> None:
    status, answer = await post_raw(api, route, auth, raw)

    assert status == 400
    assert error_code(answer) in {"invalid_json", "empty_body", "validation_error"}


@pytest.mark.parametrize("route", ["/api/read", "/api/delete"])
@pytest.mark.parametrize("key", ["", "k" * 1025, "\\udc80"])
async def test_invalid_key_in_the_list_is_400(
    api: Client, auth: dict[str, str], route: str, key: str
) -> None:
    status, answer = await post_raw(api, route, auth, '{"keys": ["ok", "' + key + '"]}')

    assert status == 400
    assert error_code(answer) == "invalid_key"


@pytest.mark.parametrize("route", ["/api/read", "/api/delete"])
async def test_too_many_keys(make_api: MakeApi, route: str) -> None:
    api = await make_api(max_items=3)
    auth = bearer((await register(api))["token"])

    status, _ = await post(api, route, auth, {"keys": ["a", "b", "c"]})
    assert status == 200
    status, answer = await post(api, route, auth, {"keys": ["a", "b", "c", "d"]})

    assert status == 400
    assert error_code(answer) == "batch_too_large"


async def test_delete_counts_existing_keys_only(api: Client, auth: dict[str, str]) -> None:
    await write(api, auth, {"a": 1, "b": 2, "c": 3})

    status, body = await post(api, "/api/delete", auth, {"keys": ["a", "b", "b", "missing"]})

    assert (status, body) == (200, {"status": "success", "deleted": 2, "revision": 2})
    assert await read(api, auth, ["a", "b", "c"]) == {"data": {"c": 3}, "not_found": ["a", "b"]}


async def test_deleting_again_counts_zero(api: Client, auth: dict[str, str]) -> None:
    await write(api, auth, {"a": 1})
    await post(api, "/api/delete", auth, {"keys": ["a"]})

    status, body = await post(api, "/api/delete", auth, {"keys": ["a"]})

    assert (status, body) == (200, {"status": "success", "deleted": 0, "revision": 2})


async def test_read_whose_values_exceed_one_response_is_400(make_api: MakeApi) -> None:
    api = await make_api(max_response_bytes=4096)
    auth = bearer((await register(api))["token"])
    for key in ("a", "b", "c"):
        await write(api, auth, {key: "x" * 2000})

    status, answer = await post(api, "/api/read", auth, {"keys": ["a", "b", "c"]})

    assert status == 400
    assert error_code(answer) == "batch_too_large"
    assert "read fewer keys" in answer["error"]["message"]
    assert (await read(api, auth, ["a"]))["data"] == {"a": "x" * 2000}
