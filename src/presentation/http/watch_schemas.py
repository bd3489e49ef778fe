"""The query of GET /api/watch (both forms): it validates requests and documents them."""

from marshmallow import Schema, fields, validate

from kv_api.presentation.http.schemas import JSON_VALUE_REF, PlainInteger, _Lenient


class WatchQuery(_Lenient):
    prefix = fields.String(
        load_default="",
        validate=validate.Length(max=1024),
        metadata={"description": "only keys starting with this (at most 1024 bytes)"},
    )
    since = PlainInteger(
        load_default=None,
        validate=validate.Range(min=0),
        metadata={
            "description": "the changes after this revision (the `revision` of the previous "
            "answer); absent: only changes made from now on"
        },
    )
    timeout = fields.Float(
        load_default=None,
        allow_nan=False,
        validate=validate.Range(min=0),
        metadata={
            "description": "seconds to wait when there is no change yet; longer waits are cut "
            "to KV_WATCH_MAX_TIMEOUT (60 by default), which is also the default"
        },
    )
    limit = PlainInteger(
        load_default=None,
        validate=validate.Range(min=1, max=1000),
        metadata={
            "description": "at most this many changes (100 by default), whole revisions only: "
            "one revision with more changes is answered whole"
        },
    )
    values = fields.Boolean(
        load_default=False,
        truthy={"true", "1"},
        falsy={"false", "0"},
        metadata={"description": "each put's value too, while it is the key's current version"},
    )


class ChangeItem(Schema):
    key = fields.String(required=True, metadata={"example": "key1"})
    op = fields.String(
        required=True,
        validate=validate.OneOf(["put", "delete", "expire"]),
        metadata={"description": "expire: its TTL ran out (or its account's data was wiped)"},
    )
    version = fields.Integer(
        required=True, metadata={"description": "the key's version this change made or ended"}
    )
    revision = fields.Integer(
        required=True, metadata={"description": "the revision this change belongs to"}
    )
    value = fields.Raw(
        allow_none=True,
        metadata={
            **JSON_VALUE_REF,
            "description": "with values=true, in a put still the key's current version",
        },
    )


class WatchResponse(Schema):
    changes = fields.List(fields.Nested(ChangeItem), required=True)
    revision = fields.Integer(
        required=True,
        metadata={"description": "pass as the next `since`", "example": 8},
    )
