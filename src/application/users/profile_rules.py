from domain.errors import InvalidField
from domain.users import Email, PersonName, Profile


def build_profile(email: str | None, first_name: str | None, last_name: str | None) -> Profile:
    problems: dict[str, list[str]] = {}
    for field, value in (("email", email), ("first_name", first_name), ("last_name", last_name)):
        if value is None:
            continue
        try:
            Email(value) if field == "email" else PersonName(value, field)
        except InvalidField as exc:
            problems[field] = exc.fields[next(iter(exc.fields))]
    if problems:
        raise InvalidField(problems)
    return Profile(email=email, first_name=first_name, last_name=last_name)
