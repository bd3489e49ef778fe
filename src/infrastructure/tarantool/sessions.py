from collections.abc import Sequence

from kv_api.application.errors import SessionExpired
from kv_api.application.ports import Session
from kv_api.infrastructure.tarantool.client import TarantoolClient


class TarantoolTokenRevocations:
    def __init__(self, client: TarantoolClient, purge_batch: int = 10_000) -> None:
        self._client = client
        self._purge_batch = purge_batch

    async def revoke(self, session: Session) -> None:
        args = [session.user_id, session.token_version, session.token_id, session.expires_at]
        if not await self._client.call("kv_logout", args):
            raise SessionExpired()

    async def purge_expired(self, now: int) -> int:
        return int(await self._client.call("kv_purge_revoked", [now, self._purge_batch]))


class TarantoolAttemptCounter:
    """Fixed-window counters per scope (kv_login_attempt, in kv_login_failures): failed logins
    and registrations. keep_for: how long a counter must outlive its start for every user of
    the space (each counts with its own window); the window itself when not given."""

    def __init__(
        self, client: TarantoolClient, max_failures: int, window: int, keep_for: int | None = None
    ) -> None:
        self._client = client
        self._max_failures = max_failures
        self._window = window
        self._keep_for = window if keep_for is None else keep_for

    async def attempt(self, scopes: Sequence[str], now: int) -> int:
        args = [list(scopes), now, self._window, self._max_failures]
        return int(await self._client.call("kv_login_attempt", args))

    async def succeeded(self, reset_scope: str, other_scopes: Sequence[str]) -> None:
        await self._client.call("kv_login_succeeded", [reset_scope, list(other_scopes)])

    async def purge_stale(self, now: int, batch: int = 10_000) -> int:
        """Drops counters whose window is over; they can no longer limit anyone."""
        older_than = now - self._keep_for
        return int(await self._client.call("kv_purge_login_failures", [older_than, batch]))
