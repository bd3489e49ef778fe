"""Error messages say what is wrong: a body that is not a JSON object, a name that must start
with a letter."""

import pytest

from tests.conftest import unique_name
from tests.e2e.conftest import Client, register
from tests.e2e.kv_helpers import error_code, post_raw


@pytest.mark.parametrize("path", ["/api/write", "/api/read", "/api/delete"])
@pytest.mark.parametrize("body", ["[]", '[{"data": {"k": 1}}]', '"keys"', "7", "null"])
async def test_a_body_that_is_not_an_object_is_told_so(
    api: Client, auth: dict[str, str], path: str, body: str
) -> None:
    status, answer = await post_raw(api, path, auth, body)
    assert status == 400
    assert error_code(answer) == "validation_error"
    assert answer["error"]["message"] == "the request body must be a JSON object"


@pytest.mark.parametrize("path", ["/api/register", "/api/login"])
async def test_an_account_body_that_is_not_an_object_is_told_so(api: Client, path: str) -> None:
    status, answer = await post_raw(api, path, {}, "[]")
    assert status == 400
    assert answer["error"]["message"] == "the request body must be a JSON object"


async def test_the_name_rule_says_it_starts_with_a_letter(api: Client) -> None:
    account = {"username": unique_name(), "password": "long-enough-1", "first_name": "-Ann"}
    resp = await api.post("/api/register", json=account)
    body = await resp.json()
    assert resp.status == 400
    assert body["error"]["fields"]["first_name"] == [
        "must be 1-64 characters, starting with a letter: letters, spaces, '-' and '''"
    ]
    await register(api)  # the same server still registers a valid body
