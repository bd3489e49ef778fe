"""UserRepository, TokenRevocations and AttemptCounter: the fakes and the Tarantool adapters
answer alike (see `backend`)."""

from datetime import UTC, datetime

import pytest

from kv_api.application.errors import SessionExpired
from kv_api.application.ports import NewUser, ProfileChange, Session, WriteOptions
from kv_api.domain.users import Profile
from tests.conftest import unique_name
from tests.integration.conftest import THROTTLE, Backend


async def test_add_refuses_a_taken_name_in_any_case(backend: Backend) -> None:
    user, _ = await backend.new_user(unique_name("Mixed"))
    assert await backend.users.by_username(user.username.casefold()) == user
    taken = NewUser(
        user.username.upper(), user.username.casefold(), "h", Profile(), user.created_at
    )
    assert await backend.users.add(taken) is None
    assert await backend.users.by_username(unique_name()) is None


async def test_by_session_and_update(backend: Backend) -> None:
    user, session = await backend.new_user()
    assert await backend.users.by_session(session) == user
    now = datetime.now(UTC).replace(microsecond=0)
    change = ProfileChange(Profile(email="a@example.com"), password_hash=None, updated_at=now)
    updated = await backend.users.update(session, change)
    assert (updated.profile, updated.updated_at, updated.token_version) == (
        Profile(email="a@example.com"),
        now,
        user.token_version,
    )
    assert await backend.users.by_session(session) == updated


async def test_a_password_change_ends_earlier_sessions(backend: Backend) -> None:
    user, session = await backend.new_user()
    change = ProfileChange(user.profile, "new-hash", datetime.now(UTC))
    updated = await backend.users.update(session, change)
    assert (updated.password_hash, updated.token_version) == ("new-hash", user.token_version + 1)
    with pytest.raises(SessionExpired):
        await backend.users.by_session(session)
    with pytest.raises(SessionExpired):
        await backend.users.update(session, change)
    assert await backend.users.by_session(backend.session_of(updated)) == updated


async def test_delete_by_session_and_by_name(backend: Backend) -> None:
    user, session = await backend.new_user()
    other, _ = await backend.new_user()
    await backend.users.delete(session)
    assert await backend.users.by_username(user.username.casefold()) is None
    with pytest.raises(SessionExpired):
        await backend.users.delete(session)
    assert await backend.users.delete_by_username(other.username.casefold()) is True
    assert await backend.users.delete_by_username(other.username.casefold()) is False


async def test_a_deleted_accounts_data_is_purged_later_in_bounded_steps(
    backend: Backend,
) -> None:
    user, session = await backend.new_user()
    await backend.kv.write(session, {f"k{i}": i for i in range(25)}, WriteOptions())
    await backend.users.delete(session)
    assert await backend.users.by_username(user.username.casefold()) is None
    assert len(await backend.stored_keys(user.id)) == 25  # gone at once; purged later
    for _ in range(1000):
        if not await backend.stored_keys(user.id):
            break
        assert 0 < await backend.users.purge_deleted(10) <= 10
    assert await backend.stored_keys(user.id) == set()


async def test_list_usernames_in_order_up_to_the_limit(backend: Backend) -> None:
    for _ in range(3):
        await backend.new_user()
    names = await backend.users.list_usernames(2)
    assert len(names) == 2
    everyone = await backend.users.list_usernames(100_000)
    assert everyone == sorted(everyone, key=str.casefold) and names == everyone[:2]


async def test_revoke_ends_the_session_once(backend: Backend) -> None:
    _, session = await backend.new_user()
    await backend.revocations.revoke(session)
    with pytest.raises(SessionExpired):
        await backend.users.by_session(session)
    with pytest.raises(SessionExpired):
        await backend.revocations.revoke(session)


async def test_purge_drops_every_revocation_expired_by_then(backend: Backend) -> None:
    user, _ = await backend.new_user()
    await backend.revocations.revoke(Session(user.id, user.token_version, unique_name(), 1000))
    assert await backend.revocations.purge_expired(1001) >= 1
    assert await backend.revocations.purge_expired(1001) == 0


async def test_throttle_counts_failures_per_scope_in_a_window(backend: Backend) -> None:
    max_failures, window = THROTTLE
    scope, other = unique_name("ip"), unique_name("user")
    for _ in range(max_failures):
        assert await backend.throttle.attempt([scope, other], 1_000) == 0
    assert await backend.throttle.attempt([scope], 1_010) == window - 10
    assert await backend.throttle.attempt([scope], 1_000 + window) == 0


async def test_success_resets_one_scope_and_forgives_one_failure_of_others(
    backend: Backend,
) -> None:
    max_failures, _ = THROTTLE
    user, ip = unique_name("user"), unique_name("ip")
    for _ in range(max_failures):
        await backend.throttle.attempt([user, ip], 1_000)
    await backend.throttle.succeeded(user, [ip])
    assert await backend.throttle.attempt([user], 1_001) == 0
    assert await backend.throttle.attempt([ip], 1_001) == 0  # one failure forgiven
    assert await backend.throttle.attempt([ip], 1_002) > 0
