"""Older clients' request bodies, byte for byte as their documents write them."""

from typing import Any

import pytest

from tests.e2e.conftest import Client

ADMIN_CLIENT_WRITE = """{
  "data": {
    "key1": "value1",
    "key2": "value2",
    "key3": "value3"
  }
}"""
ADMIN_CLIENT_READ = """{
  "keys": ["key1", "key2", "key3"]
}"""
PLAIN_CLIENT_WRITE = '{"data": {"key1": "value1", "key2": "value2", "key3": 1}}'
PLAIN_CLIENT_READ = '{"keys": ["key1", "key2", "key3"]}'
# PowerShell's ConvertTo-Json, as older Windows clients send it: CRLF and 4-space indents.
POWERSHELL_CLIENT_WRITE = (
    '{\r\n    "data":  {\r\n                 "key1":  "value1",\r\n'
    '                 "key2":  "value2"\r\n             }\r\n}'
)
POWERSHELL_CLIENT_READ = (
    '{\r\n    "keys":  [\r\n                 "key1",\r\n'
    '                 "key2"\r\n             ]\r\n}'
)
INDENTED_CLIENT_WRITE = """{
    "data": {
        "key1": "value1",
        "key2": "value2",
        "key3": 1
    }
}"""
INDENTED_CLIENT_READ = """{
    "keys": ["key1", "key2", "key3"]
}"""

CASES = [
    (
        "admin",
        ADMIN_CLIENT_WRITE,
        ADMIN_CLIENT_READ,
        {"key1": "value1", "key2": "value2", "key3": "value3"},
    ),
    (
        "plain",
        PLAIN_CLIENT_WRITE,
        PLAIN_CLIENT_READ,
        {"key1": "value1", "key2": "value2", "key3": 1},
    ),
    (
        "powershell",
        POWERSHELL_CLIENT_WRITE,
        POWERSHELL_CLIENT_READ,
        {"key1": "value1", "key2": "value2"},
    ),
    (
        "indented",
        INDENTED_CLIENT_WRITE,
        INDENTED_CLIENT_READ,
        {"key1": "value1", "key2": "value2", "key3": 1},
    ),
]


def client_headers(auth: dict[str, str], scheme: str) -> dict[str, str]:
    token = auth["Authorization"].split()[1]
    value = f"Bearer {token}" if scheme == "bearer" else token
    return {"Content-Type": "application/json", "Authorization": value}


@pytest.mark.parametrize(
    ("client", "write_body", "read_body", "expected"), CASES, ids=[c[0] for c in CASES]
)
@pytest.mark.parametrize("scheme", ["bearer", "bare"])
async def test_older_client_write_then_read(
    api: Client,
    auth: dict[str, str],
    client: str,
    write_body: str,
    read_body: str,
    expected: dict[str, Any],
    scheme: str,
) -> None:
    headers = client_headers(auth, scheme)

    written = await api.post("/api/write", data=write_body.encode(), headers=headers)
    assert written.status == 200, await written.text()
    assert (await written.json())["status"] == "success"

    got = await api.post("/api/read", data=read_body.encode(), headers=headers)
    assert got.status == 200, await got.text()
    assert (await got.json())["data"] == expected


async def test_curl_without_content_type_still_works(api: Client, auth: dict[str, str]) -> None:
    # curl -d without -H "Content-Type" sends application/x-www-form-urlencoded
    headers = {**auth, "Content-Type": "application/x-www-form-urlencoded"}

    written = await api.post("/api/write", data=PLAIN_CLIENT_WRITE.encode(), headers=headers)
    got = await api.post("/api/read", data=PLAIN_CLIENT_READ.encode(), headers=headers)

    assert written.status == 200
    assert (await got.json())["data"] == {"key1": "value1", "key2": "value2", "key3": 1}


@pytest.mark.parametrize("body", ['{"data": {}}', "{}", ""])
async def test_write_without_data_is_400(api: Client, auth: dict[str, str], body: str) -> None:
    resp = await api.post("/api/write", data=body.encode(), headers=client_headers(auth, "bearer"))
    assert resp.status == 400


async def test_insert_keeps_existing_and_stores_any_nesting(
    api: Client, auth: dict[str, str]
) -> None:
    headers = client_headers(auth, "bearer")
    value = {"list": [1, "two", {"three": [3.0, None, True]}], "obj": {"deep": {"er": []}}}
    first = await api.post("/api/write", json={"data": {"a": value}}, headers=headers)
    second = await api.post(
        "/api/write", json={"data": {"a": "new", "b": "new"}, "mode": "insert"}, headers=headers
    )

    assert first.status == second.status == 200
    assert await second.json() == {
        "status": "success",
        "written": 1,
        "skipped": ["a"],
        "revision": 2,
    }
    got = await api.post("/api/read", json={"keys": ["a", "b"]}, headers=headers)
    assert (await got.json())["data"] == {"a": value, "b": "new"}
