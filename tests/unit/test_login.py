import pytest

from kv_api.application.errors import InvalidCredentials, RateLimited
from kv_api.application.users.commands import Login
from kv_api.application.users.login import LoginHandler
from tests.unit.fakes import FakeWorld

ADDRESS = "192.0.2.7"


def login_handler(world: FakeWorld) -> LoginHandler:
    return LoginHandler(world.users, world.hasher, world.tokens, world.throttle, world.clock)


def login(username: str, password: str, address: str = ADDRESS) -> Login:
    return Login(username=username, password=password, client_address=address)


async def test_correct_password_returns_a_token_for_the_user(world: FakeWorld) -> None:
    user = await world.add_user("alice", "correct-horse")
    token = await login_handler(world)(login("alice", "correct-horse"))
    assert world.tokens.issued == [user]
    assert token.token == f"token-{user.id}-v0-1"
    assert token.expires_in == 1800


async def test_username_is_matched_case_insensitively(world: FakeWorld) -> None:
    user = await world.add_user("Alice", "correct-horse")
    await login_handler(world)(login("aLICE", "correct-horse"))
    assert world.tokens.issued == [user]


async def test_unknown_user_and_wrong_password_fail_the_same_way(world: FakeWorld) -> None:
    await world.add_user("alice", "correct-horse")
    handler = login_handler(world)

    with pytest.raises(InvalidCredentials) as wrong_password:
        await handler(login("alice", "wrong-horse"))
    with pytest.raises(InvalidCredentials) as unknown_user:
        await handler(login("nobody", "wrong-horse"))

    assert type(wrong_password.value) is type(unknown_user.value)
    assert wrong_password.value.code == unknown_user.value.code == "invalid_credentials"
    assert wrong_password.value.message == unknown_user.value.message
    assert world.tokens.issued == []


async def test_unknown_user_still_costs_a_password_verification(world: FakeWorld) -> None:
    with pytest.raises(InvalidCredentials):
        await login_handler(world)(login("nobody", "guess-1234"))
    assert world.hasher.dummy_verified == ["guess-1234"]


async def test_known_user_is_verified_against_the_stored_hash(world: FakeWorld) -> None:
    await world.add_user("alice", "correct-horse")
    with pytest.raises(InvalidCredentials):
        await login_handler(world)(login("alice", "guess-1234"))
    assert world.hasher.verified == ["guess-1234"]
    assert world.hasher.dummy_verified == []


async def test_failures_are_recorded_for_the_username_and_the_address(world: FakeWorld) -> None:
    with pytest.raises(InvalidCredentials):
        await login_handler(world)(login("Nobody", "guess-1234"))
    assert set(world.throttle.failures) == {"user:nobody", f"addr:{ADDRESS}"}


async def test_too_many_failures_are_rate_limited_with_retry_after(world: FakeWorld) -> None:
    await world.add_user("alice", "correct-horse")
    handler = login_handler(world)
    for _ in range(world.throttle.max_failures):
        with pytest.raises(InvalidCredentials):
            await handler(login("alice", "wrong-horse"))
    world.clock.advance(100)

    with pytest.raises(RateLimited) as exc:
        await handler(login("alice", "correct-horse"))

    assert exc.value.retry_after == world.throttle.window - 100
    assert exc.value.code == "rate_limited"
    assert world.tokens.issued == []


async def test_rate_limit_by_address_covers_other_usernames(world: FakeWorld) -> None:
    await world.add_user("alice", "correct-horse")
    handler = login_handler(world)
    for name in ("u1", "u2", "u3"):
        with pytest.raises(InvalidCredentials):
            await handler(login(name, "wrong-horse"))
    with pytest.raises(RateLimited):
        await handler(login("alice", "correct-horse"))
    assert (await handler(login("alice", "correct-horse", "198.51.100.1"))).token


async def test_rate_limit_ends_after_the_window(world: FakeWorld) -> None:
    await world.add_user("alice", "correct-horse")
    handler = login_handler(world)
    for _ in range(world.throttle.max_failures):
        with pytest.raises(InvalidCredentials):
            await handler(login("alice", "wrong-horse"))
    world.clock.advance(world.throttle.window)
    assert (await handler(login("alice", "correct-horse"))).token


async def test_success_resets_only_the_username_scope(world: FakeWorld) -> None:
    await world.add_user("Alice", "correct-horse")
    handler = login_handler(world)
    with pytest.raises(InvalidCredentials):
        await handler(login("ALICE", "wrong-horse"))

    await handler(login("alice", "correct-horse"))

    assert world.throttle.resets == ["user:alice"]
    assert set(world.throttle.failures) == {f"addr:{ADDRESS}"}


async def test_outdated_hash_is_replaced_after_a_successful_login(world: FakeWorld) -> None:
    user = await world.add_user("alice", "correct-horse")
    world.hasher.cost = 2

    await login_handler(world)(login("alice", "correct-horse"))

    assert world.users.rehashed == [(user.id, "fake$2$correct-horse")]
    assert world.user(user.id).password_hash == "fake$2$correct-horse"
    await login_handler(world)(login("alice", "correct-horse"))
    assert len(world.users.rehashed) == 1


async def test_current_hash_is_left_alone(world: FakeWorld) -> None:
    await world.add_user("alice", "correct-horse")
    await login_handler(world)(login("alice", "correct-horse"))
    assert world.users.rehashed == []


async def test_failed_login_never_rehashes(world: FakeWorld) -> None:
    await world.add_user("alice", "correct-horse")
    world.hasher.cost = 2
    with pytest.raises(InvalidCredentials):
        await login_handler(world)(login("alice", "wrong-horse"))
    assert world.users.rehashed == []
