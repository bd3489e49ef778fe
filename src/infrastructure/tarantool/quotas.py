"""Usage and own limits, kept by the Lua functions of lua/usage.lua and lua/quotas.lua. An own
limit is stored as null (the default), -1 (unlimited) or the number."""

from typing import Any

from kv_api.application.errors import SessionExpired
from kv_api.application.ports import Session
from kv_api.domain.quotas import Limits, NearQuota, Own, OwnLimit, OwnLimits, Standing, Usage
from kv_api.domain.users import User
from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.infrastructure.tarantool.users import user_from_tuple

UNLIMITED = -1
MAX_KEYS_FIELD, MAX_BYTES_FIELD = 4, 5  # of [owner, keys, bytes, max_keys, max_bytes], from 1


def stored_limit(own: OwnLimit) -> int | None:
    if own is Own.DEFAULT:
        return None
    return UNLIMITED if own is Own.UNLIMITED else own


def own_limit(stored: Any) -> OwnLimit:
    if stored is None:
        return Own.DEFAULT
    return Own.UNLIMITED if stored == UNLIMITED else int(stored)


def standing_from(row: Any) -> Standing:
    """[keys, bytes, own max_keys, own max_bytes] as the Lua functions answer it."""
    return Standing(
        Usage(int(row[0]), int(row[1])), OwnLimits(own_limit(row[2]), own_limit(row[3]))
    )


def _named(answer: Any) -> tuple[str, Standing] | None:
    return None if answer is None else (str(answer[0]), standing_from(answer[1]))


class TarantoolQuotaRepository:
    def __init__(self, client: TarantoolClient) -> None:
        self._client = client

    async def of_session(self, session: Session) -> tuple[User, Standing]:
        args = [session.user_id, session.token_version, session.token_id]
        answer = await self._client.call("kv_user_usage", args)
        if answer is None:
            raise SessionExpired()
        return user_from_tuple(answer[0]), standing_from(answer[1])

    async def of_user(self, username_normalized: str) -> tuple[str, Standing] | None:
        return _named(await self._client.call("kv_usage_by_name", [username_normalized]))

    async def set_own(
        self, username_normalized: str, keys: OwnLimit | None, bytes_: OwnLimit | None
    ) -> tuple[str, Standing] | None:
        changes = [
            [field, stored_limit(own)]
            for field, own in ((MAX_KEYS_FIELD, keys), (MAX_BYTES_FIELD, bytes_))
            if own is not None
        ]
        answer = await self._client.call("kv_usage_set", [username_normalized, changes])
        return _named(answer)

    async def count_near(self, defaults: Limits, near_percent: int) -> NearQuota:
        args = [defaults.keys, defaults.bytes, near_percent]
        at, near = await self._client.call("kv_usage_near", args)
        return NearQuota(int(at), int(near))
