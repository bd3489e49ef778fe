"""Operator use cases of quotas (the admin CLI and the metrics): a user's usage and limits, a
change of its own limits, the users at or near their limits."""

from dataclasses import dataclass

from kv_api.application.ports import QuotaRepository
from kv_api.domain.quotas import NearQuota, OwnLimit, Quota, QuotaPolicy, Standing


@dataclass(frozen=True, slots=True)
class ShowQuota:
    username: str


@dataclass(frozen=True, slots=True)
class SetQuota:
    """None leaves that limit as it is."""

    username: str
    keys: OwnLimit | None = None
    bytes: OwnLimit | None = None


@dataclass(frozen=True, slots=True)
class UserQuota:
    username: str  # as registered
    quota: Quota


class _QuotaHandler:
    def __init__(self, quotas: QuotaRepository, policy: QuotaPolicy) -> None:
        self._quotas = quotas
        self._policy = policy

    def _answer(self, found: tuple[str, Standing] | None) -> UserQuota | None:
        if found is None:
            return None
        username, standing = found
        return UserQuota(username, self._policy.quota(standing))


class ShowQuotaHandler(_QuotaHandler):
    """None for an unknown user."""

    async def __call__(self, query: ShowQuota) -> UserQuota | None:
        return self._answer(await self._quotas.of_user(query.username.casefold()))


class SetQuotaHandler(_QuotaHandler):
    """Takes effect with the user's next write, in every API process. None for an unknown
    user."""

    async def __call__(self, command: SetQuota) -> UserQuota | None:
        name = command.username.casefold()
        return self._answer(await self._quotas.set_own(name, command.keys, command.bytes))


class CountNearQuotaHandler(_QuotaHandler):
    async def __call__(self) -> NearQuota:
        return await self._quotas.count_near(self._policy.defaults, self._policy.near_percent)
