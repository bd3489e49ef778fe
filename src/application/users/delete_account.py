from kv_api.application.ports import UserRepository
from kv_api.application.users.commands import DeleteAccount


class DeleteAccountHandler:
    def __init__(self, users: UserRepository) -> None:
        self._users = users

    async def __call__(self, command: DeleteAccount) -> None:
        await self._users.delete(command.session)
