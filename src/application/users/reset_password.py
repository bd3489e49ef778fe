"""Operator use case: set a user's password by name and revoke every token they hold."""

from dataclasses import dataclass
from typing import Protocol

from kv_api.application.ports import Clock, PasswordHasher
from kv_api.domain.users import PasswordPolicy, User, Username


class PasswordResets(Protocol):
    async def by_username(self, username_normalized: str) -> User | None: ...

    async def reset_password(
        self, username_normalized: str, password_hash: str, now: float
    ) -> bool:
        """New hash and a new token version in one step; False when no such user."""
        ...


@dataclass(frozen=True, slots=True)
class ResetPassword:
    username: str
    password: str


class ResetPasswordHandler:
    def __init__(
        self, users: PasswordResets, hasher: PasswordHasher, clock: Clock, policy: PasswordPolicy
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._clock = clock
        self._policy = policy

    async def __call__(self, command: ResetPassword) -> bool:
        username = Username(command.username)
        if await self._users.by_username(username.normalized) is None:
            return False  # an unknown name is said so, whatever the password
        self._policy.check(command.password, command.username)
        password_hash = await self._hasher.hash(command.password)
        now = self._clock.now().timestamp()
        return await self._users.reset_password(username.normalized, password_hash, now)
