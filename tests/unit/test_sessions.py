"""Logout, GetProfile, DeleteAccount and EnsureUser."""

from dataclasses import replace

import pytest

from kv_api.application.errors import SessionExpired
from kv_api.application.kv.commands import WriteBatch
from kv_api.application.kv.handlers import WriteBatchHandler
from kv_api.application.users.commands import DeleteAccount, GetProfile, Logout
from kv_api.application.users.delete_account import DeleteAccountHandler
from kv_api.application.users.ensure_user import EnsureUser, EnsureUserHandler
from kv_api.application.users.logout import LogoutHandler
from kv_api.domain.errors import InvalidField
from kv_api.domain.keys import BatchLimits
from kv_api.domain.users import PasswordPolicy
from tests.unit.fakes import FakeWorld, session_of


class TestLogout:
    async def test_revokes_only_that_token(self, world: FakeWorld) -> None:
        user = await world.add_user("alice")
        first, second = session_of(user, "jti-1"), session_of(user, "jti-2")

        await LogoutHandler(world.revocations)(Logout(first))

        assert world.db.revoked == {"jti-1": first.expires_at}
        with pytest.raises(SessionExpired):
            await world.get_profile(GetProfile(first))
        assert (await world.get_profile(GetProfile(second))).user == user

    async def test_a_revoked_token_cannot_log_out_again(self, world: FakeWorld) -> None:
        session = session_of(await world.add_user("alice"))
        logout = LogoutHandler(world.revocations)
        await logout(Logout(session))
        with pytest.raises(SessionExpired):
            await logout(Logout(session))


class TestGetProfile:
    async def test_returns_the_session_user(self, world: FakeWorld) -> None:
        user = await world.add_user("alice")
        await world.add_user("bob")
        assert (await world.get_profile(GetProfile(session_of(user)))).user == user

    async def test_stale_token_version_is_expired(self, world: FakeWorld) -> None:
        user = await world.add_user("alice")
        stale = session_of(user)
        world.db.users[user.id] = replace(user, token_version=1)
        with pytest.raises(SessionExpired) as exc:
            await world.get_profile(GetProfile(stale))
        assert exc.value.code == "invalid_token"


class TestDeleteAccount:
    async def test_removes_the_user_and_their_data_only(self, world: FakeWorld) -> None:
        alice, bob = await world.add_user("alice"), await world.add_user("bob")
        write = WriteBatchHandler(world.kv, BatchLimits())
        await write(WriteBatch(session_of(alice), world.encoder.from_items({"k": 1})))
        await write(WriteBatch(session_of(bob), world.encoder.from_items({"k": 2})))

        await DeleteAccountHandler(world.users)(DeleteAccount(session_of(alice)))

        assert list(world.db.users) == [bob.id]
        assert await world.users.by_username("alice") is None
        assert world.db.deleted == [alice.id]  # its data goes in the background
        while await world.users.purge_deleted(100):
            pass
        assert list(world.db.data) == [bob.id]

    async def test_second_delete_is_expired(self, world: FakeWorld) -> None:
        session = session_of(await world.add_user("alice"))
        delete = DeleteAccountHandler(world.users)
        await delete(DeleteAccount(session))
        with pytest.raises(SessionExpired):
            await delete(DeleteAccount(session))

    async def test_revoked_token_cannot_delete(self, world: FakeWorld) -> None:
        session = session_of(await world.add_user("alice"))
        await LogoutHandler(world.revocations)(Logout(session))
        with pytest.raises(SessionExpired):
            await DeleteAccountHandler(world.users)(DeleteAccount(session))
        assert len(world.db.users) == 1


class TestEnsureUser:
    def handler(self, world: FakeWorld) -> EnsureUserHandler:
        return EnsureUserHandler(world.users, world.hasher, world.clock, PasswordPolicy())

    async def test_creates_a_missing_user(self, world: FakeWorld) -> None:
        assert await self.handler(world)(EnsureUser("admin", "long-enough-1")) is True
        user = await world.users.by_username("admin")
        assert user is not None
        assert await world.hasher.verify(user.password_hash, "long-enough-1")

    async def test_leaves_an_existing_user_as_is(self, world: FakeWorld) -> None:
        existing = await world.add_user("Admin", "original-pass")
        assert await self.handler(world)(EnsureUser("admin", "another-pass")) is False
        assert world.user(existing.id) == existing

    async def test_enforces_the_password_policy_by_default(self, world: FakeWorld) -> None:
        with pytest.raises(InvalidField) as exc:
            await self.handler(world)(EnsureUser("admin", "presale"))
        assert list(exc.value.fields) == ["password"]
        assert world.db.users == {}

    async def test_operator_may_skip_the_policy(self, world: FakeWorld) -> None:
        command = EnsureUser("admin", "presale", enforce_policy=False)
        assert await self.handler(world)(command) is True

    async def test_username_rules_always_apply(self, world: FakeWorld) -> None:
        with pytest.raises(InvalidField) as exc:
            await self.handler(world)(EnsureUser("a b", "presale", enforce_policy=False))
        assert list(exc.value.fields) == ["username"]
