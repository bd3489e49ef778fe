"""Request and response schemas: they validate requests and generate the OpenAPI document."""

from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from domain.keys import WriteMode

_USERNAME = r"^[A-Za-z0-9_.\-]{2,64}$"
_NAME_HELP = "1-64 characters: letters, spaces, '-' and '''"


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


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class RegisterRequest(_Lenient):
    username = fields.String(
        required=True, validate=validate.Regexp(_USERNAME), metadata={"example": "new_user"}
    )
    password = fields.String(
        required=True,
        validate=validate.Length(min=8, max=128),
        metadata={"example": "new_password"},
    )
    email = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=254),
        metadata={"format": "email", "example": "user@example.com"},
    )
    first_name = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": _NAME_HELP},
    )
    last_name = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": _NAME_HELP},
    )


class LoginRequest(_Lenient):
    username = fields.String(
        required=True, validate=validate.Length(min=1, max=256), metadata={"example": "new_user"}
    )
    password = fields.String(
        required=True,
        validate=validate.Length(min=1, max=1024),
        metadata={"example": "new_password"},
    )


class UpdateProfileRequest(_Strict):
    email = fields.String(
        allow_none=True, validate=validate.Length(max=254), metadata={"format": "email"}
    )
    first_name = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    last_name = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    password = fields.String(
        validate=validate.Length(min=8, max=128),
        metadata={"description": "new password; needs current_password"},
    )
    current_password = fields.String(validate=validate.Length(min=1, max=1024))


class WriteRequest(_Lenient):
    data = KeyValueMap(
        required=True,
        metadata={
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {},
            "example": {"key1": "value1", "key2": "value2", "key3": 1},
        },
    )
    mode = fields.Enum(
        WriteMode,
        by_value=True,
        load_default=WriteMode.UPSERT,
        metadata={"description": "upsert overwrites; insert keeps existing keys"},
    )


class KeysRequest(_Lenient):
    keys = KeyList(
        required=True,
        metadata={
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "minLength": 1},
            "example": ["key1", "key2", "key3"],
        },
    )


class ListKeysQuery(_Lenient):
    prefix = fields.String(load_default="", validate=validate.Length(max=1024))
    after = fields.String(load_default=None, metadata={"description": "cursor from `next`"})
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1, max=1000))
