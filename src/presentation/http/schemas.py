"""Request and response schemas: they validate requests and generate the OpenAPI document."""

from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from kv_api.domain.keys import MAX_VERSION, WriteMode

_USERNAME = r"^[A-Za-z0-9_.\-]{2,64}$"
_NAME_HELP = "1-64 characters: letters, spaces, '-' and '''"
# The domain's rule (PersonName) as an ECMA-262 pattern with Unicode properties: the server
# validates with the domain; the document lets a client check before sending.
_NAME_DOC = {
    "format": "person-name",
    "description": _NAME_HELP,
    "pattern": r"^\p{L}(\p{L}|\p{M}|[ '-])*$",
}
# Unpadded base64url with no length that leaves one character over (exactly what decodes);
# 1366 characters carry 1024 bytes, the longest key.
CURSOR_PATTERN = r"^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$"
CURSOR_MAX_LENGTH = 1366


JSON_VALUE_REF = {"$ref": "#/components/schemas/JsonValue"}
# Any JSON value as MessagePack stores it: integer literals must fit in 64 bits, floats are free.
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


class Text(fields.String):
    """A string that can be stored: JSON allows lone surrogates, UTF-8 (so Tarantool) does not."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("must be valid Unicode text (no lone surrogates)") from None
        return text


class PlainInteger(fields.Integer):
    """Digits only: `int()` would also take " 5", "+5", "5_0" and Arabic-Indic digits."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and not (value.isascii() and value.isdigit()):
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


# The bounds a value may take are checked by the domain (BatchLimits), which names the key; the
# OpenAPI document states the configured bounds (presentation/openapi.py fills them in).
_KEY_NAMES: dict[str, Any] = {"properties": {"": {"not": {}}}}


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


def username_field() -> Text:
    return Text(
        required=True,
        validate=validate.Regexp(
            _USERNAME, error="must be 2-64 characters of letters, digits, '_', '.', '-'"
        ),
        metadata={"example": "new_user"},
    )


def new_password_field() -> Text:
    return Text(
        required=True,
        validate=validate.Length(min=8, max=128),
        metadata={"example": "new_password"},
    )


def optional_email_field() -> Text:
    return Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=254),
        metadata={"format": "email", "example": "user@example.com"},
    )


class RegisterRequest(_Lenient):
    username = username_field()
    password = new_password_field()
    email = optional_email_field()
    first_name = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        metadata=_NAME_DOC,
    )
    last_name = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        metadata=_NAME_DOC,
    )


class LoginRequest(_Lenient):
    username = Text(
        required=True, validate=validate.Length(min=1, max=256), metadata={"example": "new_user"}
    )
    password = Text(
        required=True,
        validate=validate.Length(min=1, max=1024),
        metadata={"example": "new_password"},
    )


class UpdateProfileRequest(_Strict):
    email = Text(allow_none=True, validate=validate.Length(max=254), metadata={"format": "email"})
    first_name = Text(allow_none=True, validate=validate.Length(min=1, max=64), metadata=_NAME_DOC)
    last_name = Text(allow_none=True, validate=validate.Length(min=1, max=64), metadata=_NAME_DOC)
    password = Text(
        validate=validate.Length(min=8, max=128),
        metadata={"description": "new password; needs current_password"},
    )
    current_password = Text(validate=validate.Length(min=1, max=1024))


def if_version_field() -> IntegerMap:
    return IntegerMap(
        metadata={
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 0, "maximum": MAX_VERSION},
            **_KEY_NAMES,
            "description": "the version each key must have for the batch to apply (keys "
            "absent from the batch are checked too); 0: the key must not exist. Any mismatch: "
            "409 version_conflict and nothing is applied",
            "example": {"key1": 3, "key2": 0},
        }
    )


class WriteOptionsRequest(_Lenient):
    """The members of a write body other than `data`."""

    mode = fields.Enum(
        WriteMode,
        by_value=True,
        load_default=WriteMode.UPSERT,
        metadata={"type": "string", "description": "upsert overwrites; insert keeps existing keys"},
    )
    ttl = JsonInteger(
        metadata={
            "description": "seconds until every pair of the batch expires (unless in ttls); "
            "expires_at is now + ttl rounded up to a whole second. Without a ttl the pairs "
            "never expire, and an existing key's earlier expiry is cleared",
            "example": 3600,
        }
    )
    ttls = IntegerMap(
        metadata={
            "type": "object",
            "additionalProperties": {"type": "integer"},
            **_KEY_NAMES,
            "description": "seconds until expiry for single keys, overriding ttl; keys "
            "absent from data are ignored (their seconds must still be within bounds)",
            "example": {"key1": 60},
        }
    )
    if_version = if_version_field()


class WriteRequest(WriteOptionsRequest):
    data = KeyValueMap(
        required=True,
        metadata={
            "type": "object",
            "minProperties": 1,
            "additionalProperties": JSON_VALUE_REF,
            # OpenAPI 3.0 has no propertyNames: this at least forbids the empty key.
            "properties": {"": {"not": {}}},
            "example": {"key1": "value1", "key2": "value2", "key3": 1},
        },
    )


class KeysRequest(_Lenient):
    keys = KeyList(
        required=True,
        metadata={
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "string",
                "minLength": 1,
                "maxLength": 1024,
                "description": "1-1024 bytes of UTF-8",
            },
            "example": ["key1", "key2", "key3"],
        },
    )


class ReadRequest(KeysRequest):
    include = fields.List(
        fields.String(validate=validate.OneOf(["version", "expires_at"])),
        metadata={
            "description": "also answer `meta` for the pairs found: their version, expiry or both",
            "example": ["version", "expires_at"],
        },
    )


class DeleteRequest(KeysRequest):
    if_version = if_version_field()


class ListKeysQuery(_Lenient):
    prefix = fields.String(load_default="", validate=validate.Length(max=1024))
    after = fields.String(
        load_default=None,
        # checked by the route (decode_cursor), which names the problem `invalid_cursor`
        metadata={
            "description": "the opaque cursor from `next`; empty or absent: first page",
            "pattern": CURSOR_PATTERN,
            "maxLength": CURSOR_MAX_LENGTH,
        },
    )
    limit = PlainInteger(load_default=None, validate=validate.Range(min=1, max=1000))


# Response bodies: the routes build them as dicts; these schemas document them in OpenAPI.


class VersionConflictDetail(Schema):
    expected = fields.Integer(
        required=True,
        metadata={"minimum": 0, "description": "the version if_version asked for", "example": 2},
    )
    current = fields.Integer(
        required=True,
        metadata={"minimum": 0, "description": "the key's version now; 0: absent", "example": 3},
    )


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


class ErrorResponse(Schema):
    error = fields.Nested(ErrorDetail, required=True)


class ProfileResponse(Schema):
    username = fields.String(required=True, metadata={"example": "new_user"})
    email = fields.String(required=True, allow_none=True, metadata={"example": "user@example.com"})
    first_name = fields.String(required=True, allow_none=True, metadata={"example": "Ada"})
    last_name = fields.String(required=True, allow_none=True, metadata={"example": "Lovelace"})
    created_at = fields.DateTime(required=True, metadata={"example": "2024-05-01T12:00:00Z"})
    updated_at = fields.DateTime(required=True, metadata={"example": "2024-05-01T12:00:00Z"})


_JWT_EXAMPLE = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


class TokenResponse(Schema):
    token = fields.String(required=True, metadata={"example": _JWT_EXAMPLE})
    access_token = fields.String(
        required=True, metadata={"description": "same JWT as token", "example": _JWT_EXAMPLE}
    )
    token_type = fields.String(required=True, validate=validate.OneOf(["bearer"]))
    expires_in = fields.Integer(
        required=True, metadata={"description": "seconds until the token expires", "example": 1800}
    )


class RegisterResponse(TokenResponse):
    status = fields.String(required=True, validate=validate.OneOf(["User created successfully"]))
    user = fields.Nested(ProfileResponse, required=True)


class ProfileUpdateResponse(ProfileResponse):
    """The profile; a password change adds a fresh token (every earlier token is revoked)."""

    token = fields.String()
    access_token = fields.String()
    token_type = fields.String(validate=validate.OneOf(["bearer"]))
    expires_in = fields.Integer()


class WriteResponse(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["success"]))
    written = fields.Integer(required=True, metadata={"example": 3})
    skipped = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "existing keys left alone in insert mode", "example": []},
    )
    revision = fields.Integer(
        required=True,
        metadata={"description": "your keyspace's revision after this write", "example": 7},
    )


class PairMetaResponse(Schema):
    version = fields.Integer(metadata={"example": 3})
    expires_at = fields.String(
        allow_none=True,
        metadata={"format": "date-time", "description": "null: never expires"},
    )


class ReadResponse(Schema):
    data = fields.Dict(
        keys=fields.String(),
        required=True,
        metadata={
            "additionalProperties": JSON_VALUE_REF,
            "example": {"key1": "value1", "key2": "value2", "key3": 1},
        },
    )
    not_found = fields.List(fields.String(), required=True, metadata={"example": []})
    meta = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(PairMetaResponse),
        metadata={
            "description": "only when `include` asked for it: per pair found",
            "example": {"key1": {"version": 3, "expires_at": "2026-12-01T20:00:00Z"}},
        },
    )


class DeleteResponse(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["success"]))
    deleted = fields.Integer(required=True, metadata={"example": 2})
    revision = fields.Integer(
        required=True,
        metadata={"description": "your keyspace's revision after this delete", "example": 8},
    )


class KeyPageResponse(Schema):
    keys = fields.List(fields.String(), required=True, metadata={"example": ["key1", "key2"]})
    next = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "pass as `after` for the next page; null on the last page"},
    )


class HealthResponse(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["ok"]))


class ReadyResponse(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["ready", "unavailable"]))
    error = fields.Nested(ErrorDetail)
