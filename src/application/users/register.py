from dataclasses import dataclass

from application.errors import UsernameTaken
from application.ports import (
    Clock,
    IssuedToken,
    NewUser,
    PasswordHasher,
    TokenIssuer,
    UserRepository,
)
from application.users.commands import RegisterUser
from application.users.profile_rules import build_profile
from domain.errors import InvalidField
from domain.users import PasswordPolicy, User, Username


@dataclass(frozen=True, slots=True)
class Registered:
    user: User
    token: IssuedToken


class RegisterUserHandler:
    def __init__(
        self,
        users: UserRepository,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        clock: Clock,
        policy: PasswordPolicy,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock
        self._policy = policy

    async def __call__(self, command: RegisterUser) -> Registered:
        username = self._validate(command)
        new_user = NewUser(
            username=username.value,
            username_normalized=username.normalized,
            password_hash=await self._hasher.hash(command.password),
            profile=build_profile(command.email, command.first_name, command.last_name),
            created_at=self._clock.now(),
        )
        user = await self._users.add(new_user)
        if user is None:
            raise UsernameTaken()
        return Registered(user=user, token=self._tokens.issue(user))

    def _validate(self, command: RegisterUser) -> Username:
        problems: dict[str, list[str]] = {}
        username: Username | None = None
        try:
            username = Username(command.username)
        except InvalidField as exc:
            problems.update(exc.fields)
        password_problems = self._policy.problems(command.password, command.username)
        if password_problems:
            problems["password"] = password_problems
        try:
            build_profile(command.email, command.first_name, command.last_name)
        except InvalidField as exc:
            problems.update(exc.fields)
        if problems or username is None:
            raise InvalidField(problems)
        return username
