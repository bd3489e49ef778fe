import base64
from typing import Any

import pytest

from tests.e2e.conftest import Client
from tests.e2e.kv_helpers import error_code, write


async def list_keys(api: Client, auth: dict[str, str], **query: Any) -> tuple[int, Any]:
    resp = await api.get("/api/keys", params=query, headers=auth)
    assert resp.content_type == "application/json"
    return resp.status, await resp.json()


async def test_keys_are_listed_in_key_order(api: Client, auth: dict[str, str]) -> None:
    await write(api, auth, {"b": 1, "a": 1, "a/b": 1, "B": 1, "ключ": 1})

    status, body = await list_keys(api, auth)

    assert status == 200
    assert body == {"keys": ["B", "a", "a/b", "b", "ключ"], "next": None}


async def test_no_keys_at_all(api: Client, auth: dict[str, str]) -> None:
    assert await list_keys(api, auth) == (200, {"keys": [], "next": None})


async def test_prefix_filters_keys(api: Client, auth: dict[str, str]) -> None:
    await write(api, auth, dict.fromkeys(["user:1", "user:2", "user", "users:1", "xuser:1"], 0))

    status, body = await list_keys(api, auth, prefix="user:")

    assert (status, body) == (200, {"keys": ["user:1", "user:2"], "next": None})


async def test_default_limit_is_100_and_max_is_1000(api: Client, auth: dict[str, str]) -> None:
    await write(api, auth, {f"k{i:04d}": i for i in range(1001)})

    _, default = await list_keys(api, auth)
    _, biggest = await list_keys(api, auth, limit=1000)

    assert len(default["keys"]) == 100 and default["next"] is not None
    assert len(biggest["keys"]) == 1000 and biggest["next"] is not None
    assert biggest["keys"] == [f"k{i:04d}" for i in range(1000)]


async def test_cursor_pages_to_the_end(api: Client, auth: dict[str, str]) -> None:
    keys = [f"p/{i:03d}" for i in range(250)]
    await write(api, auth, dict.fromkeys([*keys, "o", "q"], 0))

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"prefix": "p/", "limit": 100} | ({"after": cursor} if cursor else {})
        status, body = await list_keys(api, auth, **query)
        assert status == 200, body
        seen += body["keys"]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break

    assert seen == keys
    assert pages == 3


async def test_exact_last_page_has_no_next(api: Client, auth: dict[str, str]) -> None:
    await write(api, auth, {"a": 1, "b": 1})

    _, body = await list_keys(api, auth, limit=2)

    assert body == {"keys": ["a", "b"], "next": None}


async def test_cursor_of_unicode_keys(api: Client, auth: dict[str, str]) -> None:
    await write(api, auth, dict.fromkeys(["ключ1", "ключ2", "🔑"], 0))

    _, first = await list_keys(api, auth, limit=1)
    _, second = await list_keys(api, auth, limit=5, after=first["next"])

    assert first["keys"] == ["ключ1"]
    assert second == {"keys": ["ключ2", "🔑"], "next": None}


@pytest.mark.parametrize("limit", ["0", "-1", "1001", "abc", "1.5", ""])
async def test_invalid_limit_is_400(api: Client, auth: dict[str, str], limit: str) -> None:
    status, body = await list_keys(api, auth, limit=limit)

    assert status == 400
    assert error_code(body) == "validation_error"
    assert list(body["error"]["fields"]) == ["limit"]


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("after", ["a", "!!!!", "a b", "a" * 1367])
async def test_bad_cursor_is_400(api: Client, auth: dict[str, str], after: str) -> None:
    status, body = await list_keys(api, auth, after=after)

    assert status == 400
    assert error_code(body) == "invalid_cursor"


async def test_a_cursor_of_bytes_that_are_not_utf8_names_a_position(
    api: Client, auth: dict[str, str]
) -> None:
    # the document allows any base64url cursor, so the server answers every one of them
    await write(api, auth, {"a": 1, "b": 1})
    status, body = await list_keys(api, auth, after=_cursor(b"a\xff"))
    assert (status, body["keys"]) == (200, ["b"])


async def test_prefix_longer_than_a_key_is_400(api: Client, auth: dict[str, str]) -> None:
    status, body = await list_keys(api, auth, prefix="p" * 1025)

    assert status == 400
    assert list(body["error"]["fields"]) == ["prefix"]


async def test_a_repeated_query_parameter_is_refused(api: Any, auth: dict[str, str]) -> None:
    resp = await api.get("/api/keys?prefix=a&prefix=b", headers=auth)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "repeated_parameter"
