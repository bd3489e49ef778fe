"""Bodies of the account routes (/api/register, /api/login, /api/users/me). The fields check
types; the domain checks the rules and names every broken one."""

from typing import Any, ClassVar

from marshmallow import fields, validate

from kv_api.domain.users import (
    EMAIL_MAX_LENGTH,
    GUESS_MAX_LENGTH,
    LOGIN_NAME_MAX_LENGTH,
    NAME_MAX_LENGTH,
    NAME_PATTERN,
    NAME_RULE,
    USERNAME_PATTERN,
    USERNAME_RULE,
    PasswordPolicy,
)
from kv_api.presentation.routes.fields import Lenient, Strict, Text

_POLICY = PasswordPolicy()
_NAME = {"description": NAME_RULE, "pattern": NAME_PATTERN, "minLength": 1}
_NAME_DOC = {**_NAME, "format": "person-name", "maxLength": NAME_MAX_LENGTH}
JWT_EXAMPLE = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


def username_field() -> Text:
    return Text(
        required=True,
        metadata={
            "pattern": f"^{USERNAME_PATTERN}$",
            "description": USERNAME_RULE,
            "example": "new_user",
        },
    )


def new_password_field(**kwargs: Any) -> Text:
    bounds = {"minLength": _POLICY.min_length, "maxLength": _POLICY.max_length}
    return Text(metadata={**bounds, "example": "new_password"}, **kwargs)


def guessed_password_field(**kwargs: Any) -> Text:
    """A password to check: bounded so that a guess cannot make the server hash megabytes."""
    return Text(validate=validate.Length(min=1, max=GUESS_MAX_LENGTH), **kwargs)


def email_field(**kwargs: Any) -> Text:
    doc = {"format": "email", "maxLength": EMAIL_MAX_LENGTH, "example": "user@example.com"}
    return Text(allow_none=True, metadata=doc, **kwargs)


def name_field(**kwargs: Any) -> Text:
    return Text(allow_none=True, metadata=_NAME_DOC, **kwargs)


class RegisterRequest(Lenient):
    username = username_field()
    password = new_password_field(required=True)
    email = email_field(load_default=None)
    first_name = name_field(load_default=None)
    last_name = name_field(load_default=None)


class LoginRequest(Lenient):
    username = Text(
        required=True,
        validate=validate.Length(min=1, max=LOGIN_NAME_MAX_LENGTH),
        metadata={"example": "new_user"},
    )
    password = guessed_password_field(required=True, metadata={"example": "new_password"})


class UpdateProfileRequest(Strict):
    # what the fields cannot state, for the OpenAPI document
    openapi_rules: ClassVar[dict[str, Any]] = {
        "description": "At least one of email, first_name, last_name, password; "
        "changing the password needs current_password.",
        "allOf": [
            {
                "anyOf": [
                    {"required": [n]} for n in ("email", "first_name", "last_name", "password")
                ]
            },
            {"anyOf": [{"not": {"required": ["password"]}}, {"required": ["current_password"]}]},
        ],
    }
    email = email_field()
    first_name = name_field()
    last_name = name_field()
    password = new_password_field()
    current_password = guessed_password_field()


class ProfileResponse(Lenient):
    username = fields.String(required=True, metadata={"example": "new_user"})
    email = fields.String(required=True, allow_none=True, metadata={"example": "user@example.com"})
    first_name = fields.String(required=True, allow_none=True, metadata={"example": "Ada"})
    last_name = fields.String(required=True, allow_none=True, metadata={"example": "Lovelace"})
    created_at = fields.DateTime(required=True, metadata={"example": "2024-05-01T12:00:00Z"})
    updated_at = fields.DateTime(required=True, metadata={"example": "2024-05-01T12:00:00Z"})


class UsageResponse(Lenient):
    keys = fields.Integer(
        required=True, metadata={"description": "pairs you store", "example": 120}
    )
    bytes = fields.Integer(
        required=True,
        metadata={
            "description": "their stored size as the store counts it (each pair's tuple, "
            "key and value included)",
            "example": 48213,
        },
    )
    max_keys = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "your limit of keys; null: none", "example": 250000},
    )
    max_bytes = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "your limit of stored bytes; null: none", "example": 67108864},
    )


class AccountResponse(ProfileResponse):
    usage = fields.Nested(UsageResponse, required=True)


class TokenResponse(Lenient):
    token = fields.String(required=True, metadata={"example": JWT_EXAMPLE})
    access_token = fields.String(
        required=True, metadata={"description": "same JWT as token", "example": JWT_EXAMPLE}
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
