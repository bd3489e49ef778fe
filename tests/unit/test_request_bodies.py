"""The kv routes' shortcut for usual bodies must give what the marshmallow schemas give, and
leave every unusual body to the schemas (which name the problem)."""

from typing import Any

import pytest
from marshmallow import ValidationError

from kv_api.domain.keys import WriteMode
from kv_api.presentation.http.schemas import KeysRequest, WriteRequest
from kv_api.presentation.routes.kv import load_keys, load_write, usual_mode

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
    {},
    [],
    None,
]


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
def test_keys_shortcut_agrees_with_the_schema(body: Any) -> None:
    expected = _schema(KeysRequest(), body)
    if expected[0] == "ok":
        expected = ("ok", expected[1]["keys"])
    assert _fast(load_keys, body) == expected


@pytest.mark.parametrize("body", WRITE_BODIES, ids=repr)
def test_write_shortcut_agrees_with_the_schema(body: Any) -> None:
    expected = _schema(WriteRequest(), body)
    if expected[0] == "ok":
        expected = ("ok", (expected[1]["data"], expected[1]["mode"]))
    got = _fast(load_write, body)
    assert got == expected
    if got[0] == "ok":
        assert isinstance(got[1][1], WriteMode)


@pytest.mark.parametrize("body", [b for b in WRITE_BODIES if type(b) is dict], ids=repr)
def test_options_of_a_decoded_body_give_the_schemas_mode_or_the_usual_path(body: Any) -> None:
    """The C hands back the members other than "data": a mode from them must be the schema's;
    None sends the body down the usual path, which names any problem."""
    options = {name: value for name, value in body.items() if name != "data"}
    mode = usual_mode(options)
    expected = _schema(WriteRequest(), {**body, "data": {"k": 1}})
    if mode is not None:
        assert expected == ("ok", {"data": {"k": 1}, "mode": mode})
    else:
        assert expected[0] == "error"
