"""Periodic purges: expired revocations and finished login-failure windows leave storage."""

import uuid

from kv_api.application.ports import Session
from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.infrastructure.tarantool.sessions import (
    TarantoolLoginThrottle,
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
    throttle = TarantoolLoginThrottle(client, max_failures=5, window=WINDOW)
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
