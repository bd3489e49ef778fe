from kv_api.application.errors import InvalidCredentials, RateLimited
from kv_api.application.ports import (
    AttemptCounter,
    Clock,
    IssuedToken,
    PasswordHasher,
    TokenIssuer,
    UserRepository,
)
from kv_api.application.users.commands import Login


class LoginHandler:
    """Same work and answer for an unknown user and a wrong password.

    Every attempt counts as a failure from the start (checked and counted in one storage call,
    so parallel guesses cannot outrun the limit); a success takes its count back.
    """

    def __init__(
        self,
        users: UserRepository,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        throttle: AttemptCounter,
        clock: Clock,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._tokens = tokens
        self._throttle = throttle
        self._clock = clock

    async def __call__(self, command: Login) -> IssuedToken:
        username_scope = "user:" + command.username.casefold()
        address_scope = "addr:" + command.client_address
        now = int(self._clock.now().timestamp())
        retry_after = await self._throttle.attempt([username_scope, address_scope], now)
        if retry_after > 0:
            raise RateLimited(retry_after)
        user = await self._users.by_username(command.username.casefold())
        if user is None:
            await self._hasher.verify_dummy(command.password)
        elif await self._hasher.verify(user.password_hash, command.password):
            await self._throttle.succeeded(username_scope, [address_scope])
            if self._hasher.needs_rehash(user.password_hash):
                new_hash = await self._hasher.hash(command.password)
                await self._users.set_password_hash(user.id, new_hash)
            return self._tokens.issue(user)
        raise InvalidCredentials()
