import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.e2e.conftest import Client, bearer, register
from tests.e2e.kv_helpers import error_code, post, post_raw, read, write

MakeApi = Callable[..., Awaitable[Client]]


async def test_write_returns_written_and_skipped(api: Client, auth: dict[str, str]) -> None:
    body = await write(api, auth, {"a": 1, "b": [1, 2], "c": {"d": None}})

    assert body == {"status": "success", "written": 3, "skipped": [], "revision": 1}
    assert (await read(api, auth, ["a", "b", "c"]))["data"] == {
        "a": 1,
        "b": [1, 2],
        "c": {"d": None},
    }


async def test_upsert_is_the_default_and_overwrites(api: Client, auth: dict[str, str]) -> None:
    await write(api, auth, {"a": "old"})
    body = await write(api, auth, {"a": "new"}, mode="upsert")

    assert body == {"status": "success", "written": 1, "skipped": [], "revision": 2}
    assert (await read(api, auth, ["a"]))["data"] == {"a": "new"}


async def test_insert_mode_skips_existing_keys(api: Client, auth: dict[str, str]) -> None:
    await write(api, auth, {"a": "old", "c": "old"})

    body = await write(api, auth, {"a": "new", "b": "new", "c": "new"}, mode="insert")

    assert body == {"status": "success", "written": 1, "skipped": ["a", "c"], "revision": 2}
    assert (await read(api, auth, ["a", "b", "c"]))["data"] == {
        "a": "old",
        "b": "new",
        "c": "old",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "data"),
        ({"data": None}, "data"),
        ({"data": {}}, "data"),
        ({"data": []}, "data"),
        ({"data": [["a", 1]]}, "data"),
        ({"data": "a=1"}, "data"),
        ({"data": 5}, "data"),
        ({"keys": ["a"]}, "data"),
        ({"data": {"a": 1}, "mode": "replace"}, "mode"),
        ({"data": {"a": 1}, "mode": 1}, "mode"),
        ({"data": {"a": 1}, "mode": None}, "mode"),
        ({"data": {"a": 1}, "mode": "INSERT"}, "mode"),
    ],
)
async def test_invalid_write_body_names_the_field(
    api: Client, auth: dict[str, str], body: Any, field: str
) -> None:
    status, answer = await post(api, "/api/write", auth, body)

    assert status == 400
    assert error_code(answer) == "validation_error"
    assert list(answer["error"]["fields"]) == [field]


@pytest.mark.parametrize("raw", ['[{"data": {"a": 1}}]', '"data"', "1", "null"])
async def test_write_body_that_is_not_an_object(
    api: Client, auth: dict[str, str], raw: str
) -> None:
    status, answer = await post_raw(api, "/api/write", auth, raw)
    assert status == 400
    assert error_code(answer) == "validation_error"


async def test_empty_key_is_rejected(api: Client, auth: dict[str, str]) -> None:
    status, answer = await post(api, "/api/write", auth, {"data": {"ok": 1, "": 2}})

    assert status == 400
    assert error_code(answer) == "invalid_key"
    assert answer["error"]["key"] == ""
    assert (await read(api, auth, ["ok"]))["not_found"] == ["ok"]


async def test_key_length_is_counted_in_utf8_bytes(api: Client, auth: dict[str, str]) -> None:
    longest = "я" * 512  # 1024 bytes
    too_long = "я" * 512 + "a"

    assert (await write(api, auth, {longest: 1}))["written"] == 1
    status, answer = await post(api, "/api/write", auth, {"data": {too_long: 1}})

    assert status == 400
    assert error_code(answer) == "invalid_key"
    assert "1024 bytes" in answer["error"]["message"]


def nested_list(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


async def test_nesting_up_to_64_levels_is_stored(api: Client, auth: dict[str, str]) -> None:
    deep = {"a": nested_list(63)}  # 64 levels counting the outer object
    await write(api, auth, {"deep": deep})
    assert (await read(api, auth, ["deep"]))["data"] == {"deep": deep}


async def test_value_nested_too_deep_is_rejected(api: Client, auth: dict[str, str]) -> None:
    status, answer = await post(api, "/api/write", auth, {"data": {"deep": nested_list(65)}})

    assert status == 400
    assert error_code(answer) == "invalid_value"
    assert answer["error"]["key"] == "deep"
    assert "64" in answer["error"]["message"]


async def test_value_over_the_size_limit_is_rejected(make_api: MakeApi) -> None:
    api = await make_api(max_value_bytes=1000)
    auth = bearer((await register(api))["token"])

    fits = "x" * 990  # MessagePack adds a 3-byte header
    status, answer = await post(api, "/api/write", auth, {"data": {"a": fits, "b": "x" * 1000}})

    assert status == 400
    assert error_code(answer) == "invalid_value"
    assert answer["error"]["key"] == "b"
    assert (await read(api, auth, ["a"]))["not_found"] == ["a"]


@pytest.mark.parametrize("number", ["18446744073709551616", "-9223372036854775809", "1" * 400])
async def test_integer_beyond_64_bits_names_the_key(
    api: Client, auth: dict[str, str], number: str
) -> None:
    raw = '{"data": {"fine": 1, "big": {"inner": [' + number + "]}}}"

    status, answer = await post_raw(api, "/api/write", auth, raw)

    assert status == 400
    assert error_code(answer) == "invalid_value"
    assert answer["error"]["key"] == "big"


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1" * 400 + ".5"])
async def test_float_beyond_double_range_is_400(
    api: Client, auth: dict[str, str], number: str
) -> None:
    status, answer = await post_raw(api, "/api/write", auth, '{"data": {"k": ' + number + "}}")

    assert status == 400
    assert error_code(answer) == "number_out_of_range"


async def test_long_digit_strings_and_precise_numbers_survive(
    api: Client, auth: dict[str, str]
) -> None:
    raw = '{"data": {"id": "123456789012345678901234567890", "n": 12345678901234567890}}'

    status, _ = await post_raw(api, "/api/write", auth, raw)

    assert status == 200
    resp = await api.post("/api/read", json={"keys": ["id", "n"]}, headers=auth)
    assert '"n":12345678901234567890' in await resp.text()
    assert (await resp.json())["data"]["id"] == "123456789012345678901234567890"


async def test_64_bit_integer_edges_are_stored(api: Client, auth: dict[str, str]) -> None:
    raw = '{"data": {"max": 18446744073709551615, "min": -9223372036854775808}}'

    status, _ = await post_raw(api, "/api/write", auth, raw)

    assert status == 200
    resp = await api.post("/api/read", json={"keys": ["max", "min"]}, headers=auth)
    assert json.loads(await resp.text())["data"] == {"max": 2**64 - 1, "min": -(2**63)}


async def test_too_many_items(make_api: MakeApi) -> None:
    api = await make_api(max_items=3)
    auth = bearer((await register(api))["token"])

    assert (await write(api, auth, {"a": 1, "b": 2, "c": 3}))["written"] == 3
    status, answer = await post(api, "/api/write", auth, {"data": dict.fromkeys("abcd", 1)})

    assert status == 400
    assert error_code(answer) == "batch_too_large"
    assert "3" in answer["error"]["message"]


@pytest.fixture
async def small_body_api(make_api: MakeApi) -> Client:
    return await make_api(max_body_bytes=2048)


async def test_body_over_the_limit_is_413(small_body_api: Client) -> None:
    auth = bearer((await register(small_body_api))["token"])
    body = json.dumps({"data": {"a": "x" * 4096}})

    status, answer = await post_raw(small_body_api, "/api/write", auth, body)

    assert status == 413
    assert error_code(answer) == "payload_too_large"


async def test_chunked_body_over_the_limit_is_413(small_body_api: Client) -> None:
    auth = bearer((await register(small_body_api))["token"])

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"data": {"a": "'
        for _ in range(8):
            yield b"x" * 1024
        yield b'"}}'

    headers = {**auth, "Content-Type": "application/json"}
    resp = await small_body_api.post("/api/write", data=chunks(), headers=headers)

    assert resp.request_info.headers.get("Transfer-Encoding") == "chunked"
    assert resp.status == 413
    assert error_code(await resp.json()) == "payload_too_large"


async def test_chunked_body_within_the_limit_is_accepted(small_body_api: Client) -> None:
    auth = bearer((await register(small_body_api))["token"])

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"data": {"a": '
        yield b'"chunked"}}'

    headers = {**auth, "Content-Type": "application/json"}
    resp = await small_body_api.post("/api/write", data=chunks(), headers=headers)

    assert resp.status == 200, await resp.text()


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "{",
        '{"data": {"a": 1,}}',
        "{'data': {'a': 1}}",
        '{"data": {"a": NaN}}',
        '{"data": {"a": Infinity}}',
        '{"data": {"a": -Infinity}}',
        '{"data": {"a": 1}} trailing',
        "\xff\xfe",
    ],
)
async def test_invalid_json_is_400(api: Client, auth: dict[str, str], raw: str) -> None:
    status, answer = await post_raw(api, "/api/write", auth, raw.encode("latin-1"))

    assert status == 400
    assert error_code(answer) in {"invalid_json", "empty_body"}


async def test_lone_surrogate_in_a_value_is_400(api: Client, auth: dict[str, str]) -> None:
    status, answer = await post_raw(api, "/api/write", auth, '{"data": {"k": "\\ud800"}}')

    assert status == 400
    assert error_code(answer) == "invalid_value"
    assert answer["error"]["key"] == "k"


async def test_lone_surrogate_in_a_key_is_400(api: Client, auth: dict[str, str]) -> None:
    status, answer = await post_raw(api, "/api/write", auth, '{"data": {"\\udc80": 1}}')

    assert status == 400
    assert error_code(answer) == "invalid_key"


async def test_failed_validation_stores_nothing(api: Client, auth: dict[str, str]) -> None:
    status, _ = await post(api, "/api/write", auth, {"data": {"a": 1, "b": nested_list(99)}})

    assert status == 400
    assert (await read(api, auth, ["a", "b"]))["not_found"] == ["a", "b"]


async def test_ten_thousand_pairs_in_one_batch(api: Client, auth: dict[str, str]) -> None:
    data = {f"key-{i:05d}": {"i": i, "tags": ["t", i % 7]} for i in range(10_000)}

    assert (await write(api, auth, data))["written"] == 10_000

    body = await read(api, auth, list(data))
    assert body == {"data": data, "not_found": []}


async def test_value_over_the_stores_tuple_limit_is_400_not_500(make_api: MakeApi) -> None:
    # The test Tarantool keeps its default tuple limit (about 1 MiB) while ours is raised.
    api = await make_api(max_value_bytes=4 * 1024 * 1024)
    auth = bearer((await register(api))["token"])

    body = io.BytesIO(json.dumps({"data": {"big": "x" * 2 * 1024 * 1024}}).encode())
    resp = await api.post("/api/write", data=body, headers=auth)

    assert resp.status == 400
    assert error_code(await resp.json()) == "storage_rejected"
