"""The formatters keep each record's own fields, in order, however many shapes they see."""

import json
import logging

from kv_api.presentation.logs import JsonFormatter, TextFormatter


def record(**extra: object) -> logging.LogRecord:
    made = logging.getLogger("kv_api.test").makeRecord(
        "kv_api.test", logging.INFO, __file__, 1, "hello %s", ("there",), None, extra=extra
    )
    return made


def test_json_lines_keep_the_fields_of_each_record_in_order() -> None:
    formatter = JsonFormatter()
    first = json.loads(formatter.format(record(b=1, a=2)))
    second = json.loads(formatter.format(record(b=3, a=4)))
    other = json.loads(formatter.format(record(z="z", _private="hidden")))
    assert list(first)[4:] == ["b", "a"] and (first["b"], first["a"]) == (1, 2)
    assert (second["b"], second["a"]) == (3, 4)
    assert list(other)[3:] == ["message", "z"]
    assert other["message"] == "hello there"


def test_a_field_added_after_the_first_line_of_a_shape_is_kept() -> None:
    formatter = JsonFormatter()
    plain = record(a=1)
    json.loads(formatter.format(plain))
    tagged = record(a=1)
    tagged.request_id = "r-1"
    assert json.loads(formatter.format(tagged))["request_id"] == "r-1"


def test_many_shapes_are_all_formatted() -> None:
    formatter = JsonFormatter()
    for n in range(600):
        line = json.loads(formatter.format(record(**{f"k{n}": n})))
        assert line[f"k{n}"] == n


def test_text_lines_end_with_the_fields() -> None:
    line = TextFormatter().format(record(status=200, path="/x"))
    assert line.endswith("hello there status=200 path=/x")
