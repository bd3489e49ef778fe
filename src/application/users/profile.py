from collections.abc import Mapping
from dataclasses import dataclass

from kv_api.application.errors import CurrentPasswordRequired, RateLimited, WrongCurrentPassword
from kv_api.application.ports import (
    AttemptCounter,
    Clock,
    IssuedToken,
    PasswordHasher,
    ProfileChange,
    QuotaRepository,
    TokenIssuer,
    UserRepository,
)
from kv_api.application.users.commands import GetProfile, UpdateProfile
from kv_api.application.users.profile_rules import account_problems, profile_problems
from kv_api.domain.errors import InvalidField
from kv_api.domain.quotas import Quota, QuotaPolicy
from kv_api.domain.users import PasswordPolicy, Profile, User


@dataclass(frozen=True, slots=True)
class Account:
    """The caller's profile and how much of the store it holds."""

    user: User
    quota: Quota


class GetProfileHandler:
    """One storage call: the session check, the user and its usage together."""

    def __init__(self, quotas: QuotaRepository, policy: QuotaPolicy) -> None:
        self._quotas = quotas
        self._policy = policy

    async def __call__(self, query: GetProfile) -> Account:
        user, standing = await self._quotas.of_session(query.session)
        return Account(user, self._policy.quota(standing))


@dataclass(frozen=True, slots=True)
class ProfileUpdated:
    user: User
    token: IssuedToken | None


class UpdateProfileHandler:
    def __init__(
        self,
        users: UserRepository,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        clock: Clock,
        policy: PasswordPolicy,
        throttle: AttemptCounter,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock
        self._policy = policy
        self._throttle = throttle

    async def __call__(self, command: UpdateProfile) -> ProfileUpdated:
        user = await self._users.by_session(command.session)
        changes_password = not await self._is_resent_password(user, command)
        # Where a resent password is no change, a shorter one may be the current password: so
        # the proof of the current password comes first, then the rules of the new one.
        proven = changes_password and command.resent_password_is_no_change
        if proven:
            self._check(user, command, changes_password=False)  # the other fields first
            await self._prove_current(user, command)
        self._check(user, command, changes_password)
        profile = self._merged_profile(user.profile, command)
        new_hash = (
            await self._new_password_hash(user, command, proven) if changes_password else None
        )
        change = ProfileChange(
            profile=profile, password_hash=new_hash, updated_at=self._clock.now()
        )
        updated = await self._users.update(command.session, change)
        token = self._tokens.issue(updated) if new_hash is not None else None
        return ProfileUpdated(user=updated, token=token)

    def problems(self, values: Mapping[str, object]) -> dict[str, list[str]]:
        """The request's rule violations; also used to complete a partial validation error."""
        return account_problems(self._policy, values)

    @staticmethod
    def _merged_profile(current: Profile, command: UpdateProfile) -> Profile:
        def pick(name: str, new: str | None, old: str | None) -> str | None:
            return new if name in command.fields else old

        return Profile(
            email=pick("email", command.email, current.email),
            first_name=pick("first_name", command.first_name, current.first_name),
            last_name=pick("last_name", command.last_name, current.last_name),
        )

    async def _is_resent_password(self, user: User, command: UpdateProfile) -> bool:
        """The current password sent again without current_password, where that means no change.
        Any other password is a change: it needs current_password, as always."""
        if command.password is None or not command.resent_password_is_no_change:
            return False
        if command.current_password:
            return False
        return await self._matches_current(user, command.password)

    def _check(self, user: User, command: UpdateProfile, changes_password: bool) -> None:
        def sent(name: str, value: str | None) -> str | None:
            return value if name in command.fields else None

        problems = profile_problems(
            sent("email", command.email),
            sent("first_name", command.first_name),
            sent("last_name", command.last_name),
        )
        if command.password is not None and changes_password:
            found = self._policy.problems(command.password, user.username)
            if found:
                problems["password"] = found
            # A missing field for clients that know current_password; a refusal (below) for
            # those that resend their password, as their request is well-formed.
            if not command.current_password and not command.resent_password_is_no_change:
                problems["current_password"] = ["is required to change the password"]
        if problems:
            raise InvalidField(problems)
        if changes_password and command.password is not None and not command.current_password:
            raise CurrentPasswordRequired()  # well-formed, but the old password is not proven

    async def _prove_current(self, user: User, command: UpdateProfile) -> None:
        if command.password is None:
            return
        if not command.current_password:
            raise CurrentPasswordRequired()  # well-formed, but the old password is not proven
        if not await self._matches_current(user, command.current_password):
            raise WrongCurrentPassword()

    async def _new_password_hash(
        self, user: User, command: UpdateProfile, proven: bool = False
    ) -> str | None:
        if command.password is None:
            return None
        if not proven and not await self._matches_current(user, command.current_password or ""):
            raise WrongCurrentPassword()
        return await self._hasher.hash(command.password)

    async def _matches_current(self, user: User, guess: str) -> bool:
        """Every check of a caller's guess at the current password passes here (both the
        current_password and a resent password), so a limit on guessing covers both: the
        login's per-user count, so a stolen token cannot guess past the login throttle."""
        scope = "user:" + user.username.casefold()
        retry_after = await self._throttle.attempt([scope], int(self._clock.now().timestamp()))
        if retry_after > 0:
            raise RateLimited(retry_after)
        if not await self._hasher.verify(user.password_hash, guess):
            return False
        await self._throttle.succeeded(scope, [])
        return True
