from collections.abc import Mapping
from dataclasses import asdict, dataclass

from kv_api.application.errors import RegistrationClosed, UsernameTaken
from kv_api.application.ports import (
    Clock,
    IssuedToken,
    NewUser,
    PasswordHasher,
    TokenIssuer,
    UserRepository,
)
from kv_api.application.users.commands import RegisterUser
from kv_api.application.users.profile_rules import account_problems, build_profile
from kv_api.domain.errors import InvalidField
from kv_api.domain.users import PasswordPolicy, User, Username


@dataclass(frozen=True, slots=True)
class Registered:
    user: User
    token: IssuedToken


class RegisterUserHandler:
    """Self-service registration. Closed (`registration_open` False), only the operator makes
    accounts (EnsureUserHandler)."""

    def __init__(
        self,
        users: UserRepository,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        clock: Clock,
        policy: PasswordPolicy,
        registration_open: bool = True,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock
        self._policy = policy
        self._open = registration_open

    def ensure_open(self) -> None:
        """Raises RegistrationClosed: a route calls it before it reads the body."""
        if not self._open:
            raise RegistrationClosed()

    async def __call__(self, command: RegisterUser) -> Registered:
        self.ensure_open()
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
        problems = self.problems(asdict(command))
        if problems:
            raise InvalidField(problems)
        return Username(command.username)

    def problems(self, values: Mapping[str, object]) -> dict[str, list[str]]:
        """The request's rule violations; also used to complete a partial validation error."""
        return account_problems(self._policy, values)
