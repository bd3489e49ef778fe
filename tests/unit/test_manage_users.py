from kv_api.application.users.manage import (
    ListUsers,
    ListUsersHandler,
    RemoveUser,
    RemoveUserHandler,
)
from tests.unit.fakes import FakeWorld, StoredPair


async def test_remove_user_matches_the_name_case_insensitively_and_drops_keys(
    world: FakeWorld,
) -> None:
    user = await world.add_user("Carol")
    world.db.data[user.id] = {"k": StoredPair(1, version=1, expires_at=None)}

    assert await RemoveUserHandler(world.users)(RemoveUser("cAROL")) is True

    assert await world.users.by_username("carol") is None
    assert world.db.deleted == [user.id]
    while await world.users.purge_deleted(100):
        pass
    assert user.id not in world.db.data


async def test_remove_unknown_user_is_false(world: FakeWorld) -> None:
    await world.add_user("dave")
    assert await RemoveUserHandler(world.users)(RemoveUser("erin")) is False
    assert await world.users.by_username("dave") is not None


async def test_list_users_honours_the_limit(world: FakeWorld) -> None:
    for name in ("bob", "alice", "carol"):
        await world.add_user(name)
    assert await ListUsersHandler(world.users)(ListUsers(limit=2)) == ["alice", "bob"]
    assert await ListUsersHandler(world.users)(ListUsers(limit=0)) == ["alice"]
