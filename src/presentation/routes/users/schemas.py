"""Bodies of the /users routes, in the shapes older user-management clients send and expect.
Their fields are the /api ones (same rules); only the envelopes differ."""

from typing import Any, ClassVar

from marshmallow import fields, validate

from kv_api.domain.users import PasswordPolicy
from kv_api.presentation.routes.accounts.schemas import (
    JWT_EXAMPLE,
    UsageResponse,
    email_field,
    guessed_password_field,
    new_password_field,
    username_field,
)
from kv_api.presentation.routes.fields import Lenient, Strict

REGISTRATION_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
_POLICY = PasswordPolicy()


class UsersRegisterRequest(Lenient):
    username = username_field()
    password = new_password_field(required=True)
    email = email_field(load_default=None)


class UsersUpdateRequest(Strict):
    # what the fields cannot state, for the OpenAPI document
    openapi_rules: ClassVar[dict[str, Any]] = {
        "description": "At least one of email, password.",
        "anyOf": [{"required": ["email"]}, {"required": ["password"]}],
    }
    password = guessed_password_field(
        metadata={
            "description": "the current password (no change), or a new one of "
            f"{_POLICY.min_length}-{_POLICY.max_length} characters with current_password"
        },
    )
    email = email_field()
    current_password = guessed_password_field(
        metadata={"description": "needed to change the password"}
    )


class UsersAccount(Lenient):
    username = fields.String(required=True, metadata={"example": "exampleUser"})
    email = fields.String(
        required=True, allow_none=True, metadata={"example": "example@example.com"}
    )


class UsersTokenResponse(Lenient):
    access_token = fields.String(required=True, metadata={"example": JWT_EXAMPLE})
    token_type = fields.String(required=True, validate=validate.OneOf(["bearer"]))


class UsersRegisterResponse(UsersTokenResponse):
    data = fields.Nested(UsersAccount, required=True)


class UsersProfile(UsersAccount):
    registration_date = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"),
        metadata={"description": "UTC, ISO 8601 to the second", "example": "2023-12-01T10:03:54"},
    )


class UsersAccountResponse(UsersProfile):
    usage = fields.Nested(UsageResponse, required=True)


class UsersUpdateResponse(Lenient):
    """The profile; a password change adds a fresh token (every earlier token is revoked)."""

    data = fields.Nested(UsersProfile, required=True)
    access_token = fields.String()
    token_type = fields.String(validate=validate.OneOf(["bearer"]))
