from dataclasses import dataclass

from kv_api.application.ports import Session


@dataclass(frozen=True, slots=True)
class RegisterUser:
    username: str
    password: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True, slots=True)
class Login:
    username: str
    password: str
    client_address: str


@dataclass(frozen=True, slots=True)
class Logout:
    session: Session


@dataclass(frozen=True, slots=True)
class GetProfile:
    session: Session


@dataclass(frozen=True, slots=True)
class UpdateProfile:
    session: Session
    fields: frozenset[str]
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    password: str | None = None
    current_password: str | None = None
    # Older clients resend the current password with every update and know no
    # current_password: for them an unchanged password is no change (and needs nothing more).
    resent_password_is_no_change: bool = False


@dataclass(frozen=True, slots=True)
class DeleteAccount:
    session: Session
