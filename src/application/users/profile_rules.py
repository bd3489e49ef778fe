from domain.errors import InvalidField
from domain.users import Email, PersonName, Profile


def build_profile(email: str | None, first_name: str | None, last_name: str | None) -> Profile:
    problems: dict[str, list[str]] = {}
    checks = [
        ("email", email, lambda v: Email(v)),
        ("first_name", first_name, lambda v: PersonName(v, "first_name")),
        ("last_name", last_name, lambda v: PersonName(v, "last_name")),
    ]
    for field, value, check in checks:
        if value is None:
            continue
        try:
            check(value)
        except InvalidField as exc:
            problems[field] = exc.fields[next(iter(exc.fields))]
    if problems:
        raise InvalidField(problems)
    return Profile(email=email, first_name=first_name, last_name=last_name)
