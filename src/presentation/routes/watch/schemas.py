"""The query of GET /api/watch (both forms) and its JSON answer. The fields check types; the
domain checks the bounds and names the parameter at fault."""

from marshmallow import fields, validate

from kv_api.domain.changes import (
    DEFAULT_WATCH_LIMIT,
    MAX_OFFSET,
    MAX_REVISION,
    MAX_TIMEOUT,
    MAX_WATCH_LIMIT,
)
from kv_api.domain.keys import MAX_KEY_BYTES
from kv_api.presentation.routes.fields import JSON_VALUE_REF, Lenient, QueryInteger, Text


class WatchQuery(Lenient):
    prefix = Text(
        load_default="",
        metadata={
            "maxLength": MAX_KEY_BYTES,
            "description": f"only keys starting with this (at most {MAX_KEY_BYTES} bytes)",
        },
    )
    since = QueryInteger(
        load_default=None,
        metadata={
            "minimum": 0,
            "maximum": MAX_REVISION,
            "description": "the changes after this revision (the `revision` of the previous "
            "answer); absent: only changes made from now on",
        },
    )
    offset = QueryInteger(
        load_default=0,
        metadata={
            "minimum": 0,
            "maximum": MAX_OFFSET,
            "description": "with `since`: resumes a revision answered in fragments (the "
            "`offset` of the previous answer, whose `fragment` was true); ignored without it",
        },
    )
    timeout = fields.Float(
        load_default=None,
        allow_nan=False,
        metadata={
            "minimum": 0,
            "maximum": MAX_TIMEOUT,
            "description": "seconds to wait when there is no change yet; longer waits are cut "
            "to the server's bound (KV_WATCH_MAX_TIMEOUT), which is also the default",
        },
    )
    limit = QueryInteger(
        load_default=None,
        metadata={
            "minimum": 1,
            "maximum": MAX_WATCH_LIMIT,
            "description": f"at most this many changes ({DEFAULT_WATCH_LIMIT} by default), "
            "whole revisions only: one revision with more changes is answered whole",
        },
    )
    values = fields.Boolean(
        load_default=False,
        truthy={"true", "1"},
        falsy={"false", "0"},
        metadata={"description": "each put's value too, while it is the key's current version"},
    )


class ChangeItem(Lenient):
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


class WatchResponse(Lenient):
    changes = fields.List(fields.Nested(ChangeItem), required=True)
    revision = fields.Integer(
        required=True,
        metadata={"description": "pass as the next `since`", "example": 8},
    )
    fragment = fields.Boolean(
        metadata={
            "description": "true: the answer stops inside the next revision, which was larger "
            "than the feed's bound (KV_WATCH_MAX_BYTES); pass `offset` with the next `since`",
        }
    )
    offset = fields.Integer(
        metadata={"description": "with fragment: pass as the next `offset`", "example": 500}
    )
