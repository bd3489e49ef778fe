"""Values come back exactly as written: compared as raw JSON text, not parsed objects."""

import json
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from tests.e2e.conftest import Client, bearer, register
from tests.e2e.kv_helpers import post_raw, write

MakeApi = Callable[..., Awaitable[Client]]

CASES = [
    "1.0",
    "-0.0",
    "0",
    "-1",
    "1.5e+300",
    "5e-324",
    "0.1",
    "18446744073709551615",
    "-9223372036854775808",
    "true",
    "false",
    "null",
    '""',
    '"ключ 🔑 \\u0000 tab\\t quote\\" back\\\\"',
    "{}",
    "[]",
    '{"z":1,"a":{"y":[],"b":{}},"m":[{"k":1.0}]}',
    '[1,1.0,"1",[1],{"1":1}]',
]


@pytest.mark.parametrize("raw", CASES)
async def test_value_comes_back_as_the_same_json(
    api: Client, auth: dict[str, str], raw: str
) -> None:
    status, _ = await post_raw(api, "/api/write", auth, '{"data": {"v": ' + raw + "}}")
    assert status == 200

    resp = await api.post("/api/read", json={"keys": ["v"]}, headers=auth)
    text = await resp.text()

    expected = orjson.dumps(json.loads(raw)).decode()
    assert text == '{"data":{"v":' + expected + '},"not_found":[]}'
    assert json.loads(text)["data"]["v"] == json.loads(raw)


async def test_float_and_key_order_survive_verbatim(api: Client, auth: dict[str, str]) -> None:
    raw = '{"data": {"f": 1.0, "obj": {"b": 1, "a": 2.0, "c": {"z": [], "y": {}}}}}'
    await post_raw(api, "/api/write", auth, raw)

    resp = await api.post("/api/read", json={"keys": ["f", "obj"]}, headers=auth)

    assert await resp.text() == (
        '{"data":{"f":1.0,"obj":{"b":1,"a":2.0,"c":{"z":[],"y":{}}}},"not_found":[]}'
    )


async def test_values_deeper_than_orjson_can_write_are_read_back(make_api: MakeApi) -> None:
    # KV_MAX_DEPTH goes up to 500; orjson serialises at most 254 levels.
    api = await make_api(max_depth=500)
    auth = bearer((await register(api))["token"])
    value: Any = {"leaf": 1.0}
    for _ in range(499):
        value = [value]
    await write(api, auth, {"deep": value})

    resp = await api.post("/api/read", json={"keys": ["deep"]}, headers=auth)

    assert resp.status == 200
    assert json.loads(await resp.text())["data"]["deep"] == value


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"data": {"k": 1, "k": 2}}', '{"data":{"k":2},"not_found":[]}'),
        (
            '{"data": {"k": {"a": 1, "b": 2, "a": 3}}}',
            '{"data":{"k":{"a":3,"b":2}},"not_found":[]}',
        ),
        ('{"data": {"k": 1}, "data": {"k": 4}}', '{"data":{"k":4},"not_found":[]}'),
    ],
)
async def test_a_name_twice_in_an_object_last_one_wins(
    api: Client, auth: dict[str, str], body: str, expected: str
) -> None:
    status, _ = await post_raw(api, "/api/write", auth, body)
    assert status == 200
    resp = await api.post("/api/read", json={"keys": ["k"]}, headers=auth)
    assert await resp.text() == expected
