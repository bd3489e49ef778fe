from typing import Any

import pytest

from kv_api.application.errors import (
    CurrentPasswordRequired,
    RateLimited,
    SessionExpired,
    WrongCurrentPassword,
)
from kv_api.application.users.commands import GetProfile, Logout, UpdateProfile
from kv_api.application.users.logout import LogoutHandler
from kv_api.application.users.profile import ProfileUpdated, UpdateProfileHandler
from kv_api.domain.errors import InvalidField
from kv_api.domain.users import PasswordPolicy, Profile, User
from tests.unit.fakes import START, FakeWorld, session_of

PASSWORD = "correct-horse"


@pytest.fixture
async def alice(world: FakeWorld) -> User:
    user = await world.add_user("alice", PASSWORD)
    profile = Profile("alice@example.com", "Alice", "Smith")
    world.db.users[user.id] = user.with_profile(profile, START)
    return world.user(user.id)


async def update(
    world: FakeWorld, user: User, policy: PasswordPolicy | None = None, **changes: Any
) -> ProfileUpdated:
    handler = UpdateProfileHandler(
        world.users,
        world.hasher,
        world.tokens,
        world.clock,
        policy or PasswordPolicy(),
        world.throttle,
    )
    command = UpdateProfile(session=session_of(user), fields=frozenset(changes), **changes)
    return await handler(command)


class TestProfileFields:
    async def test_only_sent_fields_change(self, world: FakeWorld, alice: User) -> None:
        world.clock.advance(60)

        result = await update(world, alice, email="new@example.com")

        assert result.user.profile == Profile("new@example.com", "Alice", "Smith")
        assert result.user.updated_at == world.clock.now()
        assert result.user.created_at == alice.created_at
        assert world.user(alice.id) == result.user

    async def test_none_clears_a_field(self, world: FakeWorld, alice: User) -> None:
        result = await update(world, alice, first_name=None, email=None)
        assert result.user.profile == Profile(None, None, "Smith")

    async def test_values_of_fields_not_sent_are_ignored(
        self, world: FakeWorld, alice: User
    ) -> None:
        command = UpdateProfile(session_of(alice), frozenset({"last_name"}), email=None)
        handler = UpdateProfileHandler(
            world.users, world.hasher, world.tokens, world.clock, PasswordPolicy(), world.throttle
        )
        result = await handler(command)
        assert result.user.profile == Profile("alice@example.com", "Alice", None)

    async def test_every_bad_field_is_reported(self, world: FakeWorld, alice: User) -> None:
        with pytest.raises(InvalidField) as exc:
            await update(world, alice, email="nope", first_name="R2D2", last_name="Ok")
        assert set(exc.value.fields) == {"email", "first_name"}
        assert world.user(alice.id) == alice

    async def test_profile_change_issues_no_token_and_keeps_sessions(
        self, world: FakeWorld, alice: User
    ) -> None:
        result = await update(world, alice, last_name="Jones")
        assert result.token is None
        assert world.tokens.issued == []
        profile = (await world.get_profile(GetProfile(session_of(alice)))).user
        assert profile.profile.last_name == "Jones"

    async def test_expired_session_is_rejected(self, world: FakeWorld, alice: User) -> None:
        await LogoutHandler(world.revocations)(Logout(session_of(alice)))
        with pytest.raises(SessionExpired):
            await update(world, alice, first_name="Eve")


class TestPasswordChange:
    async def test_needs_current_password(self, world: FakeWorld, alice: User) -> None:
        with pytest.raises(InvalidField) as exc:
            await update(world, alice, password="brand-new-pass")
        assert list(exc.value.fields) == ["current_password"]
        assert world.user(alice.id) == alice

    async def test_empty_current_password_counts_as_missing(
        self, world: FakeWorld, alice: User
    ) -> None:
        with pytest.raises(InvalidField) as exc:
            await update(world, alice, password="brand-new-pass", current_password="")
        assert list(exc.value.fields) == ["current_password"]

    async def test_profile_and_password_problems_are_reported_together(
        self, world: FakeWorld, alice: User
    ) -> None:
        with pytest.raises(InvalidField) as exc:
            await update(world, alice, email="nope", password="short")
        assert set(exc.value.fields) == {"email", "password", "current_password"}
        assert world.hasher.verified == []

    async def test_wrong_current_password(self, world: FakeWorld, alice: User) -> None:
        with pytest.raises(WrongCurrentPassword) as exc:
            await update(world, alice, password="brand-new-pass", current_password="guess-123")
        assert exc.value.code == "wrong_current_password"
        assert world.user(alice.id) == alice
        assert world.tokens.issued == []

    async def test_wrong_current_passwords_count_in_the_login_throttle(
        self, world: FakeWorld, alice: User
    ) -> None:
        for _ in range(world.throttle.max_failures):
            with pytest.raises(WrongCurrentPassword):
                await update(world, alice, password="brand-new-pass", current_password="guess")
        with pytest.raises(RateLimited):
            await update(world, alice, password="brand-new-pass", current_password=PASSWORD)
        assert world.throttle.failures["user:alice"].count == world.throttle.max_failures

    async def test_success_returns_a_fresh_token_and_ends_old_sessions(
        self, world: FakeWorld, alice: User
    ) -> None:
        old_session = session_of(alice)

        result = await update(world, alice, password="brand-new-pass", current_password=PASSWORD)

        stored = world.user(alice.id)
        assert await world.hasher.verify(stored.password_hash, "brand-new-pass")
        assert result.token is not None
        assert world.tokens.issued == [stored]
        assert stored.token_version == alice.token_version + 1
        with pytest.raises(SessionExpired):
            await world.get_profile(GetProfile(old_session))
        assert (await world.get_profile(GetProfile(session_of(stored)))).user == stored

    async def test_password_and_profile_change_together(
        self, world: FakeWorld, alice: User
    ) -> None:
        result = await update(
            world, alice, first_name="Al", password="brand-new-pass", current_password=PASSWORD
        )
        assert result.user.profile.first_name == "Al"
        assert result.token is not None

    @pytest.mark.parametrize(
        ("new_password", "problem"),
        [("short", "must be 8-128 characters"), ("ALICE", "must not equal the username")],
    )
    async def test_policy_applies_to_the_new_password(
        self, world: FakeWorld, alice: User, new_password: str, problem: str
    ) -> None:
        with pytest.raises(InvalidField) as exc:
            await update(world, alice, password=new_password, current_password=PASSWORD)
        assert problem in exc.value.fields["password"]
        assert world.user(alice.id) == alice

    async def test_composition_policy_applies_when_enabled(
        self, world: FakeWorld, alice: User
    ) -> None:
        policy = PasswordPolicy(require_composition=True)
        with pytest.raises(InvalidField):
            await update(world, alice, policy, password="all-lowercase", current_password=PASSWORD)
        result = await update(
            world, alice, policy, password="Mixed-Case-9", current_password=PASSWORD
        )
        assert result.token is not None


class TestResentPassword:
    """Older clients resend the current password with every update and know no
    current_password field: with `resent_password_is_no_change`, an equal password is no change."""

    async def test_the_current_password_resent_is_no_change(
        self, world: FakeWorld, alice: User
    ) -> None:
        result = await update(
            world,
            alice,
            email="new@example.com",
            password=PASSWORD,
            resent_password_is_no_change=True,
        )
        assert result.token is None
        assert world.tokens.issued == []
        stored = world.user(alice.id)
        assert stored.password_hash == alice.password_hash
        assert stored.token_version == alice.token_version
        assert stored.profile.email == "new@example.com"
        assert (await world.get_profile(GetProfile(session_of(alice)))).user == stored

    async def test_a_different_password_still_needs_current_password(
        self, world: FakeWorld, alice: User
    ) -> None:
        with pytest.raises(CurrentPasswordRequired) as exc:
            await update(world, alice, password="brand-new-pass", resent_password_is_no_change=True)
        assert exc.value.code == "current_password_required"
        assert world.user(alice.id) == alice
        assert world.tokens.issued == []

    async def test_field_problems_come_before_the_missing_current_password(
        self, world: FakeWorld, alice: User
    ) -> None:
        # the new password's rules wait for the proof: a short one may be the current password
        with pytest.raises(InvalidField) as exc:
            await update(
                world, alice, email="nope", password="short", resent_password_is_no_change=True
            )
        assert set(exc.value.fields) == {"email"}

    async def test_a_short_new_password_needs_the_proof_before_its_rules(
        self, world: FakeWorld, alice: User
    ) -> None:
        with pytest.raises(CurrentPasswordRequired):
            await update(world, alice, password="short", resent_password_is_no_change=True)

    async def test_with_current_password_it_is_a_change_as_always(
        self, world: FakeWorld, alice: User
    ) -> None:
        result = await update(
            world,
            alice,
            password="brand-new-pass",
            current_password=PASSWORD,
            resent_password_is_no_change=True,
        )
        assert result.token is not None
        assert world.user(alice.id).token_version == alice.token_version + 1

    async def test_without_the_option_the_resent_password_needs_current_password(
        self, world: FakeWorld, alice: User
    ) -> None:
        with pytest.raises(InvalidField) as exc:
            await update(world, alice, password=PASSWORD)
        assert list(exc.value.fields) == ["current_password"]
        assert world.hasher.verified == []
