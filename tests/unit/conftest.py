import pytest

from tests.unit.fakes import FakeWorld


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()
