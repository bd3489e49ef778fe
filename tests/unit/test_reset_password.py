import pytest

from kv_api.application.users.reset_password import ResetPassword, ResetPasswordHandler
from kv_api.domain.errors import InvalidField
from kv_api.domain.users import PasswordPolicy
from tests.unit.fakes import FakeClock, FakePasswordHasher


class RecordingResets:
    def __init__(self, known: set[str]) -> None:
        self.known = known
        self.calls: list[tuple[str, str, float]] = []

    async def by_username(self, username_normalized: str) -> object | None:
        return object() if username_normalized in self.known else None

    async def reset_password(
        self, username_normalized: str, password_hash: str, now: float
    ) -> bool:
        self.calls.append((username_normalized, password_hash, now))
        return username_normalized in self.known


def _handler(resets: RecordingResets) -> ResetPasswordHandler:
    return ResetPasswordHandler(resets, FakePasswordHasher(), FakeClock(), PasswordPolicy())


async def test_the_new_password_is_hashed_for_the_normalized_name() -> None:
    resets = RecordingResets({"alice"})
    assert await _handler(resets)(ResetPassword("Alice", "brand-new-pass-1"))
    ((name, password_hash, _),) = resets.calls
    assert (name, password_hash) == ("alice", "fake$1$brand-new-pass-1")


async def test_an_unknown_user_is_false() -> None:
    assert not await _handler(RecordingResets(set()))(ResetPassword("bob", "brand-new-pass-1"))


async def test_a_weak_password_is_refused_before_anything_is_stored() -> None:
    resets = RecordingResets({"alice"})
    with pytest.raises(InvalidField):
        await _handler(resets)(ResetPassword("alice", "short"))
    assert resets.calls == []


async def test_an_unknown_user_with_a_weak_password_is_unknown_not_weak() -> None:
    resets = RecordingResets(set())
    assert not await _handler(resets)(ResetPassword("nobody", "short"))
    assert resets.calls == []
