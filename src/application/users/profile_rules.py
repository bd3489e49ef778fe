from collections.abc import Mapping

from kv_api.domain.errors import InvalidField
from kv_api.domain.users import Email, PasswordPolicy, PersonName, Profile, Username


def build_profile(email: str | None, first_name: str | None, last_name: str | None) -> Profile:
    problems = profile_problems(email, first_name, last_name)
    if problems:
        raise InvalidField(problems)
    return Profile(email=email, first_name=first_name, last_name=last_name)


def profile_problems(
    email: str | None, first_name: str | None, last_name: str | None
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for field, value in (("email", email), ("first_name", first_name), ("last_name", last_name)):
        if value is None:
            continue
        try:
            Email(value) if field == "email" else PersonName(value, field)
        except InvalidField as exc:
            problems[field] = exc.fields[next(iter(exc.fields))]
    return problems


def account_problems(policy: PasswordPolicy, values: Mapping[str, object]) -> dict[str, list[str]]:
    """Every rule broken by the string fields present in `values`; other fields are skipped."""

    def text(name: str) -> str | None:
        value = values.get(name)
        return value if isinstance(value, str) else None

    problems: dict[str, list[str]] = {}
    username = text("username")
    if username is not None:
        try:
            Username(username)
        except InvalidField as exc:
            problems.update(exc.fields)
    password = text("password")
    if password is not None:
        found = policy.problems(password, username)
        if found:
            problems["password"] = found
    problems.update(profile_problems(text("email"), text("first_name"), text("last_name")))
    return problems
