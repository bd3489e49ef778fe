"""The kv routes' shortcut for usual bodies must give what the marshmallow schemas give, and
leave every unusual body to the schemas (which name the problem)."""

from typing import Any

import pytest
from marshmallow import ValidationError

from kv_api.application.ports import WriteOptions
from kv_api.domain.keys import WriteMode
from kv_api.presentation.routes.kv.endpoints import load_write, usual_keys, write_options
from kv_api.presentation.routes.kv.schemas import KeysRequest, WriteRequest

KEYS_BODIES: list[Any] = [
    {"keys": ["a"]},
    {"keys": ["a", "b", "a"], "extra": 1},
    {"keys": []},
    {"keys": ["a", 1]},
    {"keys": "a"},
    {"keys": None},
    {"keys": [None]},
    {"other": ["a"]},
    {},
    [],
    ["a"],
    "keys",
    None,
    7,
]

WRITE_BODIES: list[Any] = [
    {"data": {"k": 1}},
    {"data": {"k": {"nested": [1, 2]}}, "mode": "insert"},
    {"data": {"k": 1}, "mode": "upsert", "extra": True},
    {"data": {"k": 1}, "mode": "INSERT"},
    {"data": {"k": 1}, "mode": "replace"},
    {"data": {"k": 1}, "mode": None},
    {"data": {"k": 1}, "mode": 1},
    {"data": {}},
    {"data": []},
    {"data": [["k", 1]]},
    {"data": None},
    {"data": "k"},
    {"mode": "insert"},
    {"data": {"k": 1}, "ttl": 60},
    {"data": {"k": 1}, "ttl": 60, "ttls": {"k": 5}, "if_version": {"k": 0}, "mode": "insert"},
    {"data": {"k": 1}, "ttl": 1.5},
    {"data": {"k": 1}, "ttl": True},
    {"data": {"k": 1}, "ttl": "60"},
    {"data": {"k": 1}, "ttls": {"k": "5"}},
    {"data": {"k": 1}, "ttls": []},
    {"data": {"k": 1}, "if_version": {"k": False}},
    {"data": {"k": 1}, "if_version": {"k": 2, "other": 0}},
    {},
    [],
    None,
]


def _options(loaded: dict[str, Any]) -> WriteOptions:
    return WriteOptions(
        loaded["mode"], loaded.get("ttl"), loaded.get("ttls", {}), loaded.get("if_version", {})
    )


def _schema(schema: Any, body: Any) -> tuple[str, Any]:
    try:
        return "ok", schema.load(body)
    except ValidationError as exc:
        return "error", exc.messages


def _fast(function: Any, body: Any) -> tuple[str, Any]:
    try:
        return "ok", function(body)
    except ValidationError as exc:
        return "error", exc.messages


@pytest.mark.parametrize("body", KEYS_BODIES, ids=repr)
def test_keys_shortcut_takes_only_what_the_schema_takes_alike(body: Any) -> None:
    keys = usual_keys(body)
    if keys is not None:
        assert _schema(KeysRequest(), body) == ("ok", {"keys": keys})


@pytest.mark.parametrize("body", WRITE_BODIES, ids=repr)
def test_write_shortcut_agrees_with_the_schema(body: Any) -> None:
    expected = _schema(WriteRequest(), body)
    if expected[0] == "ok":
        expected = ("ok", (expected[1]["data"], _options(expected[1])))
    got = _fast(load_write, body)
    assert got == expected
    if got[0] == "ok":
        assert isinstance(got[1][1].mode, WriteMode)


@pytest.mark.parametrize("body", [b for b in WRITE_BODIES if type(b) is dict], ids=repr)
def test_options_of_a_decoded_body_agree_with_the_schema(body: Any) -> None:
    """The C hands back the members other than "data": their options must be the schema's,
    and a problem in them the schema's 400."""
    members = {name: value for name, value in body.items() if name != "data"}
    expected = _schema(WriteRequest(), {**body, "data": {"k": 1}})
    if expected[0] == "ok":
        expected = ("ok", _options(expected[1]))
    assert _fast(write_options, members) == expected
