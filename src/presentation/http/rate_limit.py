"""Registrations per client address: a fixed window per address, kept in the process (each
API process counts its own; the failed-login throttle is the one shared in Tarantool)."""

import math
import time
from collections.abc import Callable

from kv_api.application.errors import RateLimited

_PRUNE_AT = 10_000  # addresses remembered before finished windows are dropped


class AddressRateLimiter:
    def __init__(
        self, max_per_window: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max = max_per_window
        self._window = window
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    def check(self, address: str) -> None:
        """Counts one attempt from `address`; RateLimited once its window is full."""
        now = self._clock()
        started, count = self._windows.get(address, (now, 0))
        if now - started >= self._window:
            started, count = now, 0
        if count >= self._max:
            wait = math.ceil(started + self._window - now)
            raise RateLimited(wait, "too many registrations from this address; try again later")
        if len(self._windows) >= _PRUNE_AT:
            self._prune(now)
        self._windows[address] = (started, count + 1)

    def _prune(self, now: float) -> None:
        self._windows = {
            address: entry
            for address, entry in self._windows.items()
            if now - entry[0] < self._window
        }
