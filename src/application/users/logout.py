from kv_api.application.ports import TokenRevocations
from kv_api.application.users.commands import Logout


class LogoutHandler:
    def __init__(self, revocations: TokenRevocations) -> None:
        self._revocations = revocations

    async def __call__(self, command: Logout) -> None:
        await self._revocations.revoke(command.session)
