"""Waiting for a condition rather than for a fixed time: a test takes its next step once what
that step depends on has happened, and fails naming it if it never does."""

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

Condition = Callable[[], bool] | Callable[[], Awaitable[bool]]


async def until(condition: Condition, what: str, timeout: float = 15.0) -> None:
    """Polls `condition` (plain or async) every 20 ms until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.02)
