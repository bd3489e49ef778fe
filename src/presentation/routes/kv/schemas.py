"""Bodies and queries of the key-value routes. The fields check types; the domain checks keys,
values, TTLs and versions against the limits and names the key at fault."""

from marshmallow import fields, validate

from kv_api.domain.keys import MAX_KEY_BYTES, MAX_LIST_LIMIT, MAX_VERSION, WriteMode
from kv_api.presentation.routes.fields import (
    JSON_VALUE_REF,
    NO_EMPTY_NAME,
    IntegerMap,
    JsonInteger,
    KeyList,
    KeyValueMap,
    Lenient,
    QueryInteger,
    Text,
)

# Unpadded base64url with no length that leaves one character over (exactly what decodes),
# long enough for the longest key.
CURSOR_PATTERN = r"^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$"
CURSOR_MAX_LENGTH = -(-MAX_KEY_BYTES * 4 // 3)
_KEY = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_BYTES}
_TTL_BOUNDS = {"minimum": "min_ttl", "maximum": "max_ttl"}


def if_version_field() -> IntegerMap:
    return IntegerMap(
        metadata={
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 0, "maximum": MAX_VERSION},
            **NO_EMPTY_NAME,
            "description": "the version each key must have for the batch to apply (keys "
            "absent from the batch are checked too); 0: the key must not exist. Any mismatch: "
            "409 version_conflict and nothing is applied",
            "example": {"key1": 3, "key2": 0},
        }
    )


class WriteOptionsRequest(Lenient):
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
            "bounds": _TTL_BOUNDS,
        }
    )
    ttls = IntegerMap(
        metadata={
            "type": "object",
            "additionalProperties": {"type": "integer"},
            **NO_EMPTY_NAME,
            "description": "seconds until expiry for single keys, overriding ttl; keys "
            "absent from data are ignored (their seconds must still be within bounds)",
            "example": {"key1": 60},
            "bounds": {"additionalProperties": _TTL_BOUNDS},
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
            **NO_EMPTY_NAME,
            "example": {"key1": "value1", "key2": "value2", "key3": 1},
            "bounds": {"maxProperties": "max_items"},
        },
    )


class KeysRequest(Lenient):
    keys = KeyList(
        required=True,
        metadata={
            "type": "array",
            "minItems": 1,
            "items": {**_KEY, "description": f"1-{MAX_KEY_BYTES} bytes of UTF-8"},
            "example": ["key1", "key2", "key3"],
            "bounds": {"maxItems": "max_items"},
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


class ListKeysQuery(Lenient):
    prefix = Text(
        load_default="",
        metadata={"maxLength": MAX_KEY_BYTES, "description": "only keys starting with this"},
    )
    after = fields.String(
        load_default=None,
        # checked by the route (decode_cursor), which names the problem `invalid_cursor`
        metadata={
            "description": "the opaque cursor from `next`; empty or absent: first page",
            "pattern": CURSOR_PATTERN,
            "maxLength": CURSOR_MAX_LENGTH,
        },
    )
    limit = QueryInteger(
        load_default=None,
        metadata={"minimum": 1, "maximum": MAX_LIST_LIMIT, "description": "100 by default"},
    )


class WriteResponse(Lenient):
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


class PairMetaResponse(Lenient):
    version = fields.Integer(metadata={"example": 3})
    expires_at = fields.String(
        allow_none=True,
        metadata={"format": "date-time", "description": "null: never expires"},
    )


class ReadResponse(Lenient):
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


class DeleteResponse(Lenient):
    status = fields.String(required=True, validate=validate.OneOf(["success"]))
    deleted = fields.Integer(required=True, metadata={"example": 2})
    revision = fields.Integer(
        required=True,
        metadata={"description": "your keyspace's revision after this delete", "example": 8},
    )


class KeyPageResponse(Lenient):
    keys = fields.List(fields.String(), required=True, metadata={"example": ["key1", "key2"]})
    next = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "pass as `after` for the next page; null on the last page"},
    )
