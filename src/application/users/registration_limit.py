from kv_api.application.errors import RateLimited
from kv_api.application.ports import AttemptCounter, Clock

SCOPE = "register:"  # beside the login throttle's "user:" and "addr:" scopes


class RegistrationLimit:
    """Registrations per client address in a fixed window. A registration has no success
    that takes its count back, so every attempt counts. The count is the store's (the same
    fixed-window counters as failed logins, with their own maximum and window), so every API
    process and worker shares it."""

    def __init__(self, counter: AttemptCounter, clock: Clock) -> None:
        self._counter = counter
        self._clock = clock

    async def check(self, address: str) -> None:
        """Counts one registration from `address`; RateLimited once its window is full."""
        now = int(self._clock.now().timestamp())
        wait = await self._counter.attempt([SCOPE + address], now)
        if wait > 0:
            raise RateLimited(wait, "too many registrations from this address; try again later")
