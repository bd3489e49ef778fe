"""Schemas of the /users routes, in the shapes older user-management clients send and expect.
Their fields are the /api ones (same rules); only the envelopes differ."""

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from kv_api.presentation.http.schemas import (
    Text,
    new_password_field,
    optional_email_field,
    username_field,
)

REGISTRATION_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
_TOKEN_EXAMPLE = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


class UsersRegisterRequest(Schema):
    class Meta:
        unknown = EXCLUDE

    username = username_field()
    password = new_password_field()
    email = optional_email_field()


class UsersUpdateRequest(Schema):
    class Meta:
        unknown = RAISE

    password = Text(
        validate=validate.Length(min=1, max=1024),
        metadata={
            "description": "the current password (no change), or a new one of 8-128 characters "
            "with current_password"
        },
    )
    email = Text(allow_none=True, validate=validate.Length(max=254), metadata={"format": "email"})
    current_password = Text(
        validate=validate.Length(min=1, max=1024),
        metadata={"description": "needed to change the password"},
    )


class UsersAccount(Schema):
    username = fields.String(required=True, metadata={"example": "exampleUser"})
    email = fields.String(
        required=True, allow_none=True, metadata={"example": "example@example.com"}
    )


class UsersTokenResponse(Schema):
    access_token = fields.String(required=True, metadata={"example": _TOKEN_EXAMPLE})
    token_type = fields.String(required=True, validate=validate.OneOf(["bearer"]))


class UsersRegisterResponse(UsersTokenResponse):
    data = fields.Nested(UsersAccount, required=True)


class UsersProfile(UsersAccount):
    registration_date = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"),
        metadata={"description": "UTC, ISO 8601 to the second", "example": "2023-12-01T10:03:54"},
    )


class UsersUpdateResponse(Schema):
    """The profile; a password change adds a fresh token (every earlier token is revoked)."""

    data = fields.Nested(UsersProfile, required=True)
    access_token = fields.String()
    token_type = fields.String(validate=validate.OneOf(["bearer"]))
