from datetime import UTC, datetime
from typing import Any

from kv_api.application.errors import SessionExpired
from kv_api.application.ports import NewUser, ProfileChange, Session
from kv_api.domain.users import Profile, User, UserId
from kv_api.infrastructure.tarantool.client import TarantoolClient


def _time(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def user_from_tuple(row: Any) -> User:
    return User(
        id=int(row[0]),
        username=row[1],
        password_hash=row[3],
        profile=Profile(email=row[4], first_name=row[5], last_name=row[6]),
        created_at=_time(row[7]),
        updated_at=_time(row[8]),
        token_version=int(row[9]),
    )


def _session_args(session: Session) -> list[Any]:
    return [session.user_id, session.token_version, session.token_id]


class TarantoolUserRepository:
    def __init__(self, client: TarantoolClient) -> None:
        self._client = client

    async def add(self, user: NewUser) -> User | None:
        p = user.profile
        row = await self._client.call(
            "kv_user_create",
            [
                user.username,
                user.username_normalized,
                user.password_hash,
                p.email,
                p.first_name,
                p.last_name,
                user.created_at.timestamp(),
            ],
        )
        return None if row is None else user_from_tuple(row)

    async def by_username(self, username_normalized: str) -> User | None:
        row = await self._client.call("kv_user_by_name", [username_normalized])
        return None if row is None else user_from_tuple(row)

    async def by_session(self, session: Session) -> User:
        row = await self._client.call("kv_user_session", _session_args(session))
        if row is None:
            raise SessionExpired()
        return user_from_tuple(row)

    async def update(self, session: Session, change: ProfileChange) -> User:
        p = change.profile
        args = [
            p.email,
            p.first_name,
            p.last_name,
            change.password_hash,
            change.updated_at.timestamp(),
        ]
        row = await self._client.call("kv_user_update", _session_args(session) + args)
        if row is None:
            raise SessionExpired()
        return user_from_tuple(row)

    async def set_password_hash(self, user_id: UserId, password_hash: str) -> None:
        await self._client.call("kv_user_set_hash", [user_id, password_hash])

    async def delete(self, session: Session) -> None:
        if not await self._client.call("kv_user_delete", _session_args(session)):
            raise SessionExpired()

    async def delete_by_username(self, username_normalized: str) -> bool:
        return bool(await self._client.call("kv_user_delete_by_name", [username_normalized]))

    async def reset_password(
        self, username_normalized: str, password_hash: str, now: float
    ) -> bool:
        args = [username_normalized, password_hash, now]
        return bool(await self._client.call("kv_user_reset_password", args))

    async def purge_deleted(self, batch: int) -> int:
        return int(await self._client.call("kv_purge_deleted_accounts", [batch]))

    async def list_usernames(self, limit: int) -> list[str]:
        return list(await self._client.call("kv_user_list", [limit]))
