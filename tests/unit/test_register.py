import pytest

from kv_api.application.errors import UsernameTaken
from kv_api.application.users.commands import RegisterUser
from kv_api.application.users.register import RegisterUserHandler
from kv_api.domain.errors import InvalidField
from kv_api.domain.users import PasswordPolicy, Profile
from tests.unit.fakes import START, FakeWorld


def register_handler(world: FakeWorld, policy: PasswordPolicy | None = None) -> RegisterUserHandler:
    return RegisterUserHandler(
        world.users, world.hasher, world.tokens, world.clock, policy or PasswordPolicy()
    )


async def test_registers_a_user_with_a_profile_and_issues_a_token(world: FakeWorld) -> None:
    command = RegisterUser(
        username="Alice.B",
        password="correct-horse",
        email="alice@example.com",
        first_name="Alice",
        last_name="O'Brien",
    )

    registered = await register_handler(world)(command)

    user = registered.user
    assert user.username == "Alice.B"
    assert user.profile == Profile("alice@example.com", "Alice", "O'Brien")
    assert user.created_at == user.updated_at == START
    assert user.password_hash != "correct-horse"
    assert await world.hasher.verify(user.password_hash, "correct-horse")
    assert world.tokens.issued == [user]
    assert registered.token.token.startswith(f"token-{user.id}-")
    assert await world.users.by_username("alice.b") == user


async def test_profile_fields_are_optional(world: FakeWorld) -> None:
    registered = await register_handler(world)(RegisterUser("bob", "correct-horse"))
    assert registered.user.profile == Profile()


async def test_every_bad_field_is_reported_at_once(world: FakeWorld) -> None:
    command = RegisterUser(
        username="x", password="x", email="not-an-email", first_name="R2D2", last_name="Ok"
    )

    with pytest.raises(InvalidField) as exc:
        await register_handler(world)(command)

    fields = exc.value.fields
    assert set(fields) == {"username", "password", "email", "first_name"}
    assert fields["password"] == ["must be 8-128 characters", "must not equal the username"]
    assert world.db.users == {}
    assert world.hasher.hashed == []


async def test_profile_problems_are_reported_with_a_valid_username(world: FakeWorld) -> None:
    command = RegisterUser("carol", "correct-horse", email="x@", last_name="!")
    with pytest.raises(InvalidField) as exc:
        await register_handler(world)(command)
    assert set(exc.value.fields) == {"email", "last_name"}


async def test_password_equal_to_username_is_rejected(world: FakeWorld) -> None:
    with pytest.raises(InvalidField) as exc:
        await register_handler(world)(RegisterUser("Dave.Long", "dave.LONG"))
    assert exc.value.fields == {"password": ["must not equal the username"]}


async def test_composition_policy_applies_when_enabled(world: FakeWorld) -> None:
    handler = register_handler(world, PasswordPolicy(require_composition=True))
    with pytest.raises(InvalidField) as exc:
        await handler(RegisterUser("erin", "alllowercase"))
    assert "must contain a digit" in exc.value.fields["password"]
    assert (await handler(RegisterUser("erin", "Correct-h0rse"))).user.username == "erin"


async def test_username_taken_case_insensitively(world: FakeWorld) -> None:
    await world.add_user("frank")
    with pytest.raises(UsernameTaken) as exc:
        await register_handler(world)(RegisterUser("FRANK", "correct-horse"))
    assert exc.value.code == "username_taken"
    assert len(world.db.users) == 1
    assert world.tokens.issued == []
