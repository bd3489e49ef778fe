import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher as Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError

from kv_api.application.errors import Overloaded

# Niceness added to each hashing thread (Linux sets it per thread): when logins and reads
# compete for the CPU, the event loop wins and logins wait. `make bench` (mixed): reads'
# throughput under a login storm +40-70%, their median latency -25%.
HASH_THREAD_NICENESS = 10


def _yield_to_requests() -> None:
    with contextlib.suppress(OSError, AttributeError):
        thread = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, current + HASH_THREAD_NICENESS))


class Argon2PasswordHasher:
    """argon2id; hashing runs in a bounded thread pool so the event loop keeps serving."""

    def __init__(
        self, memory_kib: int, time_cost: int, parallelism: int, workers: int, max_queue: int = 64
    ) -> None:
        self._argon = Argon2(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=Type.ID,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="argon2", initializer=_yield_to_requests
        )
        self._dummy_hash = self._argon.hash("dummy password for unknown users")
        self._max_queue = max_queue
        self._queued = 0

    async def _run(self, fn: "object", *args: str) -> object:
        # A full queue answers at once: a flood of registrations or logins must not make
        # every legitimate login wait behind it.
        if self._queued >= self._max_queue:
            raise Overloaded()
        self._queued += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, fn, *args)  # type: ignore[arg-type]
        finally:
            self._queued -= 1

    async def hash(self, password: str) -> str:
        return str(await self._run(self._argon.hash, password))

    async def verify(self, password_hash: str, password: str) -> bool:
        return bool(await self._run(self._verify, password_hash, password))

    async def verify_dummy(self, password: str) -> None:
        await self._run(self._verify, self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return bool(self._argon.check_needs_rehash(password_hash))
        except InvalidHashError:
            return True

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self._argon.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
