import datetime

import jwt
import pytest

from tests.unit.fakes import FakeWorld


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


JWT_NOW = 1_800_000_000.0


class FakeClock:
    """A clock for token checks; the `jwt_clock` fixture keeps PyJWT's wall clock in step."""

    def __init__(self) -> None:
        self.now = JWT_NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def jwt_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()

    class FrozenDatetime(datetime.datetime):
        @classmethod
        def now(cls, tz: datetime.tzinfo | None = None) -> "FrozenDatetime":
            return cls.fromtimestamp(fake.now, tz)

    # PyJWT (also under aiohttp-jwt) reads the wall clock for expiry; keep it in step with ours
    monkeypatch.setattr(jwt.api_jwt, "datetime", FrozenDatetime)
    return fake
