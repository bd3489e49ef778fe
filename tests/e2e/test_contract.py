"""Contract fuzzing: schemathesis generates requests from the OpenAPI document (built from the
same marshmallow schemas that validate requests) and checks every answer of a live server
against it: status codes, content types, bodies, headers, and that bad input is rejected."""

import os
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st

from kv_api.infrastructure.settings import Settings
from kv_api.presentation.openapi import build_openapi
from tests.conftest import unique_name
from tests.support.server import ApiProcess

# Slow: fuzzes every operation of the live server.
pytestmark = pytest.mark.slow

# OpenAPI 3.0 cannot spell "Unicode letters and combining marks": the document names the
# format and describes it; this strategy is the same rule for generating valid names.
_LETTER = st.characters(categories=["L"])
_NAME_CHAR = st.characters(categories=["L", "M"], include_characters=" '-")
schemathesis.openapi.format(
    "person-name", st.tuples(_LETTER, st.text(_NAME_CHAR, max_size=63)).map("".join)
)

MAX_EXAMPLES = int(os.environ.get("KV_CONTRACT_EXAMPLES", "50"))
SEED = int(os.environ.get("KV_CONTRACT_SEED", "20240501"))
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        # The machine may be loaded: slow generation or a slow answer is not a contract failure.
        "suppress-health-check": ["too_slow"],
        "request-timeout": 60,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "database": "none",
            # Unknown query parameters are ignored by design (like unknown JSON fields of
            # lenient bodies); the document cannot say so for query strings.
            "allow-extra-parameters": False,
        },
        # `after` is fuzzed like every other field: the document describes exactly the
        # cursors the server answers (pattern and length), so none of them may be refused.
    }
)
SCHEMA = schemathesis.openapi.from_dict(build_openapi(Settings()), config=CONFIG)
FUZZ_PASSWORD = "fuzz-user-password-0"
# These revoke the token they are called with: every call gets a fresh user.
REVOKING = {
    ("POST", "/api/logout"),
    ("DELETE", "/api/users/me"),
    ("POST", "/users/logout"),
    ("DELETE", "/users"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    # Its own embedded Tarantool: fuzzing registers arbitrary usernames (even `admin`) and
    # records failed logins per client address, which must not leak into other tests.
    env = {
        "KV_BOOTSTRAP_USER": "admin:presale",
        "KV_TARANTOOL_MEMORY_MB": "64",
        "KV_LOG_LEVEL": "WARNING",
        # failed logins would soon answer 429 to everything; the fuzzer should see 401s
        "KV_LOGIN_MAX_FAILURES": "1000000",
        # every fuzzed watch waits at most this long for a change that never comes
        "KV_WATCH_MAX_TIMEOUT": "0.2",
    }
    api = ApiProcess(tmp_path_factory.mktemp("contract") / "data", env)
    try:
        yield api.start()
    finally:
        api.stop()


def new_token(server: ApiProcess) -> str:
    body = {"username": unique_name("fuzz"), "password": FUZZ_PASSWORD}
    status, answer = server.request("POST", "/api/register", body)
    assert status == 200, answer
    token: str = answer["token"]
    return token


@pytest.fixture(scope="module")
def token(server: ApiProcess) -> str:
    return new_token(server)


@SCHEMA.parametrize()
def test_api_honours_its_openapi_document(case: Any, server: ApiProcess, token: str) -> None:
    bearer = new_token(server) if (case.method, case.path) in REVOKING else token
    case.call_and_validate(base_url=server.base, headers={"Authorization": f"Bearer {bearer}"})


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/api/write", {"ttl", "ttls", "if_version", "mode"}),
        ("/api/read", {"include"}),
        ("/api/delete", {"if_version"}),
    ],
)
def test_the_fuzzer_reaches_every_optional_field(path: str, fields: set[str]) -> None:
    """Bodies drawn as the test above draws them carry every optional member, so expiry,
    versions and conditions are fuzzed too."""
    seen: set[str] = set()

    @hypothesis.given(case=SCHEMA[path]["POST"].as_strategy())
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def draw(case: Any) -> None:
        if isinstance(case.body, dict):
            seen.update(case.body)

    draw()
    assert fields <= seen
