class DomainError(Exception):
    code = "invalid_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidField(DomainError):
    """A single request field breaks a rule; `fields` names every problem."""

    code = "validation_error"

    def __init__(self, fields: dict[str, list[str]]) -> None:
        first = next(iter(fields.items()))
        super().__init__(f"{first[0]}: {first[1][0]}")
        self.fields = fields


class InvalidKey(DomainError):
    code = "invalid_key"

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"key {key[:80]!r}: {problem}")
        self.key = key


class InvalidValue(DomainError):
    code = "invalid_value"

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"value of key {key[:80]!r}: {problem}")
        self.key = key


class InvalidTtl(DomainError):
    code = "invalid_ttl"

    def __init__(self, key: str | None, problem: str) -> None:
        """key: None for the batch's own ttl, else the key whose ttls entry it is."""
        subject = "ttl" if key is None else f"ttl of key {key[:80]!r}"
        super().__init__(f"{subject}: {problem}")
        self.key = key


class InvalidVersion(DomainError):
    code = "invalid_version"

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"if_version of key {key[:80]!r}: {problem}")
        self.key = key


class BatchTooLarge(DomainError):
    code = "batch_too_large"
