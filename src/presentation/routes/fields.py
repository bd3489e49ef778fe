"""Marshmallow fields and schemas shared by the route families. Fields check shape and type;
the rules (key sizes, TTL and version ranges, usernames, passwords...) are the domain's, which
names the field or key at fault. A field documents a bound that is a setting with the metadata
`bounds`: OpenAPI keyword -> the name of the setting (openapi.py fills in this server's)."""

import re
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields

# Any JSON value as MessagePack stores it: integer literals must fit in 64 bits, floats are free.
JSON_VALUE_REF = {"$ref": "#/components/schemas/JsonValue"}
JSON_VALUE_SCHEMA: dict[str, Any] = {
    "description": "any JSON value; an integer must fit in 64 bits (signed or unsigned)",
    "anyOf": [
        {"type": "string"},
        {"type": "boolean", "nullable": True},
        {"type": "integer", "minimum": -(2**63), "maximum": 2**64 - 1},
        {"type": "number", "not": {"type": "integer"}},
        {"type": "array", "items": JSON_VALUE_REF},
        {"type": "object", "additionalProperties": JSON_VALUE_REF},
    ],
}
# OpenAPI 3.0 has no propertyNames: this at least forbids the empty key.
NO_EMPTY_NAME: dict[str, Any] = {"properties": {"": {"not": {}}}}
_DECIMAL = re.compile(r"-?[0-9]+")


_NOT_AN_OBJECT = {"type": "the request body must be a JSON object"}


class Lenient(Schema):
    error_messages = _NOT_AN_OBJECT

    class Meta:
        unknown = EXCLUDE


class Strict(Schema):
    error_messages = _NOT_AN_OBJECT

    class Meta:
        unknown = RAISE


class Text(fields.String):
    """A string that can be stored: JSON allows lone surrogates, UTF-8 (so Tarantool) does not."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("must be valid Unicode text (no lone surrogates)") from None
        return text


class QueryInteger(fields.Integer):
    """A decimal integer in a query string. `int()` would also take " 5", "+5", "5_0" and
    Arabic-Indic digits; a sign is kept, so that the domain can say which bound is broken."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and not _DECIMAL.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class JsonInteger(fields.Integer):
    """A JSON integer: not a float, a string or a boolean (which Python counts as integers)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if type(value) is not int:
            raise self.make_error("invalid")
        return value


class IntegerMap(fields.Field):  # type: ignore[type-arg]
    """A JSON object of key -> integer, checked in one pass."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError("must be a JSON object of key -> integer")
        for key, item in value.items():
            if type(item) is not int:
                raise ValidationError(f"the value of key {key[:80]!r} is not an integer")
        return value


class KeyValueMap(fields.Field):  # type: ignore[type-arg]
    """A JSON object of key -> any JSON value, checked in one pass (no field object per pair)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError("must be a JSON object of key -> value")
        if not value:
            raise ValidationError("must contain at least one key")
        return value


class KeyList(fields.Field):  # type: ignore[type-arg]
    """A non-empty JSON array of strings, checked in one pass."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, list):
            raise ValidationError("must be a JSON array of strings")
        if not value:
            raise ValidationError("must contain at least one key")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ValidationError(f"item {index} is not a string")
        return value


class VersionConflictDetail(Schema):
    expected = fields.Integer(
        required=True,
        metadata={"minimum": 0, "description": "the version if_version asked for", "example": 2},
    )
    current = fields.Integer(
        required=True,
        metadata={"minimum": 0, "description": "the key's version now; 0: absent", "example": 3},
    )


class QuotaFigures(Schema):
    keys = fields.Integer(allow_none=True, metadata={"minimum": 0, "example": 64})
    bytes = fields.Integer(allow_none=True, metadata={"minimum": 0, "example": 64000448})


class ErrorDetail(Schema):
    code = fields.String(required=True, metadata={"example": "validation_error"})
    message = fields.String(required=True, metadata={"example": "username: must be 2-64 ..."})
    problems = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        data_key="fields",
        metadata={
            "description": "validation errors: field -> problems",
            "example": {"password": ["must be 8-128 characters"]},
        },
    )
    key = fields.String(
        metadata={
            "description": "the offending key (invalid_key, invalid_value, invalid_version), "
            "or `ttl` for the batch's own ttl (invalid_ttl)"
        }
    )
    conflicts = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(VersionConflictDetail),
        metadata={
            "description": "version_conflict: every key whose if_version did not hold",
            "example": {"key1": {"expected": 2, "current": 3}},
        },
    )
    usage = fields.Nested(
        QuotaFigures,
        metadata={"description": "quota_exceeded: the keys and stored bytes the writer holds"},
    )
    limit = fields.Nested(
        QuotaFigures,
        metadata={"description": "quota_exceeded: the writer's limits; null: none"},
    )


class ErrorResponse(Schema):
    error = fields.Nested(ErrorDetail, required=True)
