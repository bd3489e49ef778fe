from kv_api.domain import quotas
from kv_api.domain.quotas import Limits, Usage


class ApplicationError(Exception):
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(ApplicationError):
    code = "unauthorized"


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("invalid username or password")


class SessionExpired(Unauthenticated):
    code = "invalid_token"

    def __init__(self) -> None:
        super().__init__("token is revoked, expired or its user no longer exists")


class TokenExpired(SessionExpired):
    """The session's token reached its `exp` while in use (a watch outlives no token)."""

    code = "token_expired"

    def __init__(self) -> None:
        ApplicationError.__init__(self, "token has expired")


class WrongCurrentPassword(ApplicationError):
    code = "wrong_current_password"

    def __init__(self) -> None:
        super().__init__("current_password is wrong")


class CurrentPasswordRequired(WrongCurrentPassword):
    """A new password with no current_password to prove the caller knows the old one: the same
    refusal as a wrong current_password (403), with its own code."""

    code = "current_password_required"

    def __init__(self) -> None:
        ApplicationError.__init__(self, "current_password is required to change the password")


class UsernameTaken(ApplicationError):
    code = "username_taken"

    def __init__(self) -> None:
        super().__init__("a user with this username already exists")


class RateLimited(ApplicationError):
    code = "rate_limited"

    def __init__(
        self, retry_after: int, message: str = "too many failed login attempts; try again later"
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StorageUnavailable(ApplicationError):
    code = "storage_unavailable"

    def __init__(self, message: str = "storage is unavailable, try again shortly") -> None:
        super().__init__(message)
        self.retry_after = 1


class Overloaded(ApplicationError):
    """A bounded queue (password hashing) is full: come back shortly rather than wait."""

    code = "overloaded"

    def __init__(self, message: str = "the server is busy, try again shortly") -> None:
        super().__init__(message)
        self.retry_after = 1


class StorageRejected(ApplicationError):
    """The store refused a well-formed request (for example its tuple size limit)."""

    code = "storage_rejected"


class StorageFull(ApplicationError):
    """The store's memory is full: writes are refused until room is made; reads go on."""

    code = "insufficient_storage"

    def __init__(self) -> None:
        super().__init__(
            "the store is full: the write was not applied; delete data or ask the operator "
            "to raise KV_TARANTOOL_MEMORY_MB"
        )


class QuotaExceeded(ApplicationError):
    """The write would take the writer's keys or stored bytes past their limit: nothing of it
    was applied. usage: before the write; after: what it would have made them; limits: the
    writer's (None: unlimited)."""

    code = "quota_exceeded"

    def __init__(self, usage: Usage, after: Usage, limits: Limits) -> None:
        passed = quotas.passed(usage, after, limits)
        said = "; ".join(_over(name, after, limits) for name in passed) or "a limit is reached"
        super().__init__(
            f"this write would pass your quota: {said}; nothing was applied (you store "
            f"{usage.keys:,} keys, {usage.bytes:,} bytes): delete keys, or ask the operator "
            "for a larger quota"
        )
        self.usage = usage
        self.after = after
        self.limits = limits


def _over(name: str, after: Usage, limits: Limits) -> str:
    stored = "stored bytes" if name == "bytes" else "keys"
    return f"{stored} {getattr(after, name):,} over the limit of {getattr(limits, name):,}"


class RegistrationClosed(ApplicationError):
    """KV_REGISTRATION=closed: accounts are made by the operator (kv-api user create)."""

    code = "registration_closed"

    def __init__(self) -> None:
        super().__init__("registration is closed on this server: ask its operator for an account")


class TooManyInFlight(ApplicationError):
    """The caller already has its limit of requests in progress on this process."""

    code = "too_many_requests"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"you already have {limit} requests in progress; wait for their answers before "
            "sending more"
        )
        self.retry_after = 1


class VersionConflict(ApplicationError):
    """An if_version did not hold: nothing of the batch was applied. conflicts maps each failing
    key to (expected, current); current is 0 when the key does not exist."""

    code = "version_conflict"

    def __init__(self, conflicts: dict[str, tuple[int, int]]) -> None:
        super().__init__(
            f"{len(conflicts)} key(s) are not at the expected version; nothing was applied"
        )
        self.conflicts = conflicts


class HistoryCompacted(ApplicationError):
    """The changes after `since` are partly gone from the change log (retention): re-read the
    keys, then watch from `revision`. `oldest` is the oldest since still answerable."""

    code = "history_compacted"

    def __init__(self, oldest: int, revision: int) -> None:
        super().__init__(
            f"the changes after this revision are no longer kept (the oldest since still "
            f"answered is {oldest}); re-read your keys, then watch from revision {revision}"
        )
        self.oldest = oldest
        self.revision = revision


class TooManyWatches(ApplicationError):
    """This process already holds its limit of waiting watches (KV_MAX_WATCHES), or of one
    user's (KV_USER_MAX_WATCHES)."""

    code = "too_many_watches"

    def __init__(self, of_user: bool = False) -> None:
        super().__init__(
            "this user holds its limit of open watches; close one first"
            if of_user
            else "the server holds its limit of open watches; try again shortly"
        )
        self.retry_after = 1
