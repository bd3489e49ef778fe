"""The query of GET /api/watch (both forms): it validates requests and documents them."""

from marshmallow import fields, validate

from kv_api.presentation.http.schemas import PlainInteger, _Lenient


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
