import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime

from kv_api.domain.errors import InvalidField

UserId = int

# The rules as the API documents them; the value objects below apply them.
USERNAME_PATTERN = r"[A-Za-z0-9_.\-]{2,64}"
USERNAME_RULE = "must be 2-64 characters of letters, digits, '_', '.', '-'"
EMAIL_MAX_LENGTH = 254
NAME_MAX_LENGTH = 64
NAME_PATTERN = r"^\p{L}(\p{L}|\p{M}|[ '-])*$"  # NAME_RULE in ECMA-262, for clients to check
NAME_RULE = "must be 1-64 characters, starting with a letter: letters, spaces, '-' and '''"
# A password to check (login, current_password) is refused above this many characters:
# a guess must not make the server hash megabytes.
GUESS_MAX_LENGTH = 1024
LOGIN_NAME_MAX_LENGTH = 256

_USERNAME = re.compile(USERNAME_PATTERN)
_EMAIL = re.compile(
    r"[^@\s\x00-\x1f\x7f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)+"
)
_NAME_PUNCTUATION = frozenset(" '-")
_SPECIAL = re.compile(r"[^A-Za-z0-9]")


def _fail(field: str, problem: str) -> InvalidField:
    return InvalidField({field: [problem]})


@dataclass(frozen=True, slots=True)
class Username:
    value: str

    def __post_init__(self) -> None:
        if not _USERNAME.fullmatch(self.value):
            raise _fail("username", USERNAME_RULE)

    @property
    def normalized(self) -> str:
        return self.value.casefold()


@dataclass(frozen=True, slots=True)
class Email:
    value: str

    def __post_init__(self) -> None:
        if len(self.value) > EMAIL_MAX_LENGTH or not _EMAIL.fullmatch(self.value):
            raise _fail("email", "must be a valid e-mail address")


@dataclass(frozen=True, slots=True)
class PersonName:
    value: str
    field: str = "name"

    def __post_init__(self) -> None:
        if not 1 <= len(self.value) <= NAME_MAX_LENGTH or not _is_person_name(self.value):
            raise _fail(self.field, NAME_RULE)


def _is_person_name(text: str) -> bool:
    """Starts with a letter; then letters, their combining marks (NFD, Indic vowel signs), " '-"."""
    if not unicodedata.category(text[0]).startswith("L"):
        return False
    return all(c in _NAME_PUNCTUATION or unicodedata.category(c)[0] in "LM" for c in text[1:])


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    min_length: int = 8
    max_length: int = 128
    require_composition: bool = False

    def problems(self, password: str, username: str | None) -> list[str]:
        found: list[str] = []
        if not self.min_length <= len(password) <= self.max_length:
            found.append(f"must be {self.min_length}-{self.max_length} characters")
        if username is not None and password.casefold() == username.casefold():
            found.append("must not equal the username")
        if self.require_composition:
            found.extend(self._composition_problems(password))
        return found

    @staticmethod
    def _composition_problems(password: str) -> list[str]:
        rules = [
            (any(c.islower() for c in password), "must contain a lowercase letter"),
            (any(c.isupper() for c in password), "must contain an uppercase letter"),
            (any(c.isdigit() for c in password), "must contain a digit"),
            (bool(_SPECIAL.search(password)), "must contain a special character"),
        ]
        return [problem for ok, problem in rules if not ok]

    def check(self, password: str, username: str | None, field: str = "password") -> None:
        found = self.problems(password, username)
        if found:
            raise InvalidField({field: found})


@dataclass(frozen=True, slots=True)
class Profile:
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True, slots=True)
class User:
    id: UserId
    username: str
    password_hash: str
    profile: Profile
    created_at: datetime
    updated_at: datetime
    token_version: int = 0

    def with_profile(self, profile: Profile, now: datetime) -> "User":
        return replace(self, profile=profile, updated_at=now)
