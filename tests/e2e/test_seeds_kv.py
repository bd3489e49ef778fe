"""The seeds' own request bodies, byte for byte, against our server (see /work/shared/seeds)."""

from typing import Any

import pytest

from tests.e2e.conftest import Client

SEED_000_WRITE = """{
  "data": {
    "key1": "value1",
    "key2": "value2",
    "key3": "value3"
  }
}"""
SEED_000_READ = """{
  "keys": ["key1", "key2", "key3"]
}"""
SEED_001_WRITE = '{"data": {"key1": "value1", "key2": "value2", "key3": 1}}'
SEED_001_READ = '{"keys": ["key1", "key2", "key3"]}'
# PowerShell's ConvertTo-Json, as in seed 001's Windows examples: CRLF and 4-space indents.
SEED_001_WINDOWS_WRITE = (
    '{\r\n    "data":  {\r\n                 "key1":  "value1",\r\n'
    '                 "key2":  "value2"\r\n             }\r\n}'
)
SEED_001_WINDOWS_READ = (
    '{\r\n    "keys":  [\r\n                 "key1",\r\n'
    '                 "key2"\r\n             ]\r\n}'
)
SEED_002_WRITE = """{
    "data": {
        "key1": "value1",
        "key2": "value2",
        "key3": 1
    }
}"""
SEED_002_READ = """{
    "keys": ["key1", "key2", "key3"]
}"""

CASES = [
    ("000", SEED_000_WRITE, SEED_000_READ, {"key1": "value1", "key2": "value2", "key3": "value3"}),
    ("001", SEED_001_WRITE, SEED_001_READ, {"key1": "value1", "key2": "value2", "key3": 1}),
    (
        "001-windows",
        SEED_001_WINDOWS_WRITE,
        SEED_001_WINDOWS_READ,
        {"key1": "value1", "key2": "value2"},
    ),
    ("002", SEED_002_WRITE, SEED_002_READ, {"key1": "value1", "key2": "value2", "key3": 1}),
]


def seed_headers(auth: dict[str, str], scheme: str) -> dict[str, str]:
    token = auth["Authorization"].split()[1]
    value = f"Bearer {token}" if scheme == "bearer" else token
    return {"Content-Type": "application/json", "Authorization": value}


@pytest.mark.parametrize(
    ("seed", "write_body", "read_body", "expected"), CASES, ids=[c[0] for c in CASES]
)
@pytest.mark.parametrize("scheme", ["bearer", "bare"])
async def test_seed_write_then_read(
    api: Client,
    auth: dict[str, str],
    seed: str,
    write_body: str,
    read_body: str,
    expected: dict[str, Any],
    scheme: str,
) -> None:
    headers = seed_headers(auth, scheme)

    written = await api.post("/api/write", data=write_body.encode(), headers=headers)
    assert written.status == 200, await written.text()
    assert (await written.json())["status"] == "success"

    got = await api.post("/api/read", data=read_body.encode(), headers=headers)
    assert got.status == 200, await got.text()
    assert (await got.json())["data"] == expected


async def test_curl_without_content_type_still_works(api: Client, auth: dict[str, str]) -> None:
    # curl -d without -H "Content-Type" sends application/x-www-form-urlencoded
    headers = {**auth, "Content-Type": "application/x-www-form-urlencoded"}

    written = await api.post("/api/write", data=SEED_001_WRITE.encode(), headers=headers)
    got = await api.post("/api/read", data=SEED_001_READ.encode(), headers=headers)

    assert written.status == 200
    assert (await got.json())["data"] == {"key1": "value1", "key2": "value2", "key3": 1}


@pytest.mark.parametrize("body", ['{"data": {}}', "{}", ""])
async def test_seed_error_no_data_is_400(api: Client, auth: dict[str, str], body: str) -> None:
    resp = await api.post("/api/write", data=body.encode(), headers=seed_headers(auth, "bearer"))
    assert resp.status == 400


async def test_seed_003_insert_keeps_existing_and_stores_any_nesting(
    api: Client, auth: dict[str, str]
) -> None:
    headers = seed_headers(auth, "bearer")
    value = {"list": [1, "two", {"three": [3.0, None, True]}], "obj": {"deep": {"er": []}}}
    first = await api.post("/api/write", json={"data": {"a": value}}, headers=headers)
    second = await api.post(
        "/api/write", json={"data": {"a": "new", "b": "new"}, "mode": "insert"}, headers=headers
    )

    assert first.status == second.status == 200
    assert await second.json() == {"status": "success", "written": 1, "skipped": ["a"]}
    got = await api.post("/api/read", json={"keys": ["a", "b"]}, headers=headers)
    assert (await got.json())["data"] == {"a": value, "b": "new"}
