"""Periodic purges: expired revocations and finished login-failure windows leave storage."""

import uuid

from kv_api.application.ports import Session
from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.infrastructure.tarantool.sessions import (
    TarantoolAttemptCounter,
    TarantoolTokenRevocations,
)
from tests.integration.conftest import MakeSession

WINDOW = 60


async def _failure_rows(client: TarantoolClient, scopes: list[str]) -> list[str]:
    code = (
        "local out = {} for _, s in ipairs(...) do "
        "if box.space.kv_login_failures:get(s) then out[#out + 1] = s end end return out"
    )
    return list(await client.eval(code, [scopes]))


async def test_purge_drops_only_finished_login_windows(client: TarantoolClient) -> None:
    throttle = TarantoolAttemptCounter(client, max_failures=5, window=WINDOW)
    old, fresh = f"user:old-{uuid.uuid4().hex}", f"user:fresh-{uuid.uuid4().hex}"
    now = 2_000_000_000
    await throttle.attempt([old], now - WINDOW - 1)
    await throttle.attempt([fresh], now - 1)
    assert await _failure_rows(client, [old, fresh]) == [old, fresh]

    assert await throttle.purge_stale(now) >= 1
    assert await _failure_rows(client, [old, fresh]) == [fresh]


async def test_purge_drops_only_expired_revocations(
    client: TarantoolClient, make_session: MakeSession
) -> None:
    revocations = TarantoolTokenRevocations(client)
    base = await make_session()
    expired = Session(base.user_id, 0, uuid.uuid4().hex, expires_at=1_000)
    live = Session(base.user_id, 0, uuid.uuid4().hex, expires_at=4_000_000_000)
    await revocations.revoke(expired)
    await revocations.revoke(live)

    assert await revocations.purge_expired(now=2_000) >= 1
    rows = await client.eval(
        "local s, a, b = box.space.kv_revoked_tokens, ... "
        "return {s:get(a) ~= nil, s:get(b) ~= nil}",
        [expired.token_id, live.token_id],
    )
    assert list(rows) == [False, True]


async def test_purge_keeps_counters_as_long_as_the_longest_window_sharing_the_space(
    client: TarantoolClient,
) -> None:
    """Registrations count in the same space with their own window: the login throttle's purge
    keeps every counter for the longer of the two (keep_for), not only for its own window."""
    throttle = TarantoolAttemptCounter(client, max_failures=5, window=WINDOW, keep_for=10 * WINDOW)
    registrations = TarantoolAttemptCounter(client, max_failures=2, window=10 * WINDOW)
    scope = f"register:{uuid.uuid4().hex}"
    now = 2_100_000_000
    await registrations.attempt([scope], now - 2 * WINDOW)
    await registrations.attempt([scope], now - 2 * WINDOW)
    await throttle.purge_stale(now)
    assert await _failure_rows(client, [scope]) == [scope]
    assert await registrations.attempt([scope], now) > 0  # still inside its window: refused
    await throttle.purge_stale(now + 10 * WINDOW)
    assert await _failure_rows(client, [scope]) == []
