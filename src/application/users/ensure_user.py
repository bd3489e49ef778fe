from dataclasses import dataclass

from kv_api.application.ports import Clock, NewUser, PasswordHasher, UserRepository
from kv_api.domain.users import PasswordPolicy, Profile, Username


@dataclass(frozen=True, slots=True)
class EnsureUser:
    """Operator-created account (bootstrap or CLI): created if missing, left as is otherwise."""

    username: str
    password: str
    enforce_policy: bool = True


class EnsureUserHandler:
    def __init__(
        self, users: UserRepository, hasher: PasswordHasher, clock: Clock, policy: PasswordPolicy
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._clock = clock
        self._policy = policy

    async def __call__(self, command: EnsureUser) -> bool:
        username = Username(command.username)
        if command.enforce_policy:
            self._policy.check(command.password, command.username)
        if await self._users.by_username(username.normalized) is not None:
            return False
        new_user = NewUser(
            username=username.value,
            username_normalized=username.normalized,
            password_hash=await self._hasher.hash(command.password),
            profile=Profile(),
            created_at=self._clock.now(),
        )
        return await self._users.add(new_user) is not None
