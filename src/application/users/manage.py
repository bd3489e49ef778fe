"""Operator use cases (the admin CLI): remove an account by name, list account names."""

from dataclasses import dataclass

from kv_api.application.ports import UserRepository


@dataclass(frozen=True, slots=True)
class RemoveUser:
    username: str


@dataclass(frozen=True, slots=True)
class ListUsers:
    limit: int


class RemoveUserHandler:
    """The account, every key it owns and every token it holds are gone; False if unknown."""

    def __init__(self, users: UserRepository) -> None:
        self._users = users

    async def __call__(self, command: RemoveUser) -> bool:
        return await self._users.delete_by_username(command.username.casefold())


class ListUsersHandler:
    def __init__(self, users: UserRepository) -> None:
        self._users = users

    async def __call__(self, query: ListUsers) -> list[str]:
        return await self._users.list_usernames(max(1, query.limit))
