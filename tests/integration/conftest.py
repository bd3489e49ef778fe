import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kv_api.application.ports import (
    AttemptCounter,
    NewUser,
    QuotaRepository,
    Session,
    TokenRevocations,
    UserRepository,
)
from kv_api.domain.keys import BatchLimits
from kv_api.domain.users import Profile, User
from kv_api.infrastructure.codec import MsgpackBatchEncoder
from kv_api.infrastructure.settings import Settings
from kv_api.infrastructure.tarantool.changes import TarantoolChangeFeed
from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.infrastructure.tarantool.functions import define_functions
from kv_api.infrastructure.tarantool.kv import TarantoolKeyValueRepository
from kv_api.infrastructure.tarantool.migrations import MigrationRunner
from kv_api.infrastructure.tarantool.quotas import TarantoolQuotaRepository
from kv_api.infrastructure.tarantool.sessions import (
    TarantoolAttemptCounter,
    TarantoolTokenRevocations,
)
from kv_api.infrastructure.tarantool.users import TarantoolUserRepository
from tests.conftest import unique_name
from tests.support.tarantool import TarantoolProcess
from tests.support.writes import PairWrites
from tests.unit.fake_changes import FakeChangeFeed
from tests.unit.fakes import FakeAttemptCounter, FakeWorld, stored_size

MIGRATIONS = Settings().migrations_dir
MakeClient = Callable[[TarantoolProcess], Awaitable[TarantoolClient]]


async def define_when_missing(client: TarantoolClient) -> bool:
    """The definer of the tests' clients: unlike Storage's, it does not wait for migrations."""
    await define_functions(client)
    return True


@pytest.fixture
async def connect() -> AsyncIterator[MakeClient]:
    """Connected clients to any test Tarantool, defining the Lua functions when a call misses
    one; all closed at teardown."""
    clients: list[TarantoolClient] = []

    async def make(server: TarantoolProcess) -> TarantoolClient:
        client = TarantoolClient(
            server.address, server.user, server.password, 5.0, 30.0, define_when_missing
        )
        clients.append(client)
        assert await client.wait_connected(10.0), "cannot connect to the test tarantool"
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
def fresh_tarantool(tmp_path: Path) -> Iterator[TarantoolProcess]:
    """An empty Tarantool of its own, for tests that need an unmigrated database."""
    process = TarantoolProcess(tmp_path / "fresh").start()
    yield process
    process.stop()


@pytest.fixture
async def client(tarantool: TarantoolProcess, connect: MakeClient) -> TarantoolClient:
    """A connection to the shared Tarantool with every migration applied and the Lua functions
    defined, as the API prepares its store."""
    connected = await connect(tarantool)
    await MigrationRunner(connected, MIGRATIONS).apply()
    await define_functions(connected)
    return connected


def tarantool_kv(
    client: TarantoolClient, limits: BatchLimits | None = None, **options: Any
) -> PairWrites:
    """The Tarantool repository, taking pairs prepared by its encoder as the route does."""
    repository = TarantoolKeyValueRepository(client, **options)
    return PairWrites(repository, MsgpackBatchEncoder(limits or BatchLimits()))


@pytest.fixture
def kv(client: TarantoolClient) -> PairWrites:
    return tarantool_kv(client)


MakeSession = Callable[[], Awaitable[Session]]


@pytest.fixture
def make_session(client: TarantoolClient) -> MakeSession:
    """A new user in storage and a valid session of theirs."""
    users = TarantoolUserRepository(client)

    async def make() -> Session:
        name = unique_name()
        now = datetime.now(UTC)
        user = await users.add(NewUser(name, name, "not-a-real-hash", Profile(), now))
        assert user is not None
        expires = int(time.time()) + 600
        return Session(user.id, token_version=0, token_id=uuid.uuid4().hex, expires_at=expires)

    return make


@pytest.fixture
async def session(make_session: MakeSession) -> Session:
    return await make_session()


@dataclass
class Backend:
    """The repository ports of one implementation: the in-memory fakes or the adapters."""

    kv: PairWrites
    users: UserRepository
    revocations: TokenRevocations
    throttle: AttemptCounter
    # the keys a user has in storage, expired or not: what only a purge removes
    stored_keys: Callable[[int], Awaitable[set[str]]]
    feed: Any  # FakeChangeFeed or TarantoolChangeFeed, with FEED_SLOTS(_PER_USER) slots
    # the same feed held to a bound of stored bytes per answer
    bounded_feed: Callable[[int], Any]
    quotas: QuotaRepository
    # (keys, bytes) a user's pairs take in storage, counted afresh: what usage must equal
    stored_usage: Callable[[int], Awaitable[tuple[int, int]]]

    async def new_user(self, name: str | None = None) -> tuple[User, Session]:
        name = name or unique_name()
        new = NewUser(name, name.casefold(), "not-a-real-hash", Profile(), datetime.now(UTC))
        user = await self.users.add(new)
        assert user is not None
        return user, self.session_of(user)

    @staticmethod
    def session_of(user: User) -> Session:
        expires = int(time.time()) + 600
        return Session(user.id, user.token_version, uuid.uuid4().hex, expires)


THROTTLE = (3, 900)  # max failures, window in seconds
FEED_SLOTS, FEED_SLOTS_PER_USER = 3, 2


@pytest.fixture
async def watch_client(tarantool: TarantoolProcess, connect: MakeClient) -> TarantoolClient:
    """A connection of its own for the change feed's waits, as the app has."""
    return await connect(tarantool)


@pytest.fixture(params=["fake", "tarantool"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each contract test runs against both, so a fake cannot drift from Tarantool."""
    if request.param == "fake":
        world = FakeWorld(throttle=FakeAttemptCounter(*THROTTLE))

        async def fake_keys(user_id: int) -> set[str]:
            return set(world.db.data.get(user_id, {}))

        async def fake_usage(user_id: int) -> tuple[int, int]:
            pairs = world.db.data.get(user_id, {})
            return len(pairs), sum(stored_size(user_id, k, p) for k, p in pairs.items())

        return Backend(
            PairWrites(world.kv, world.encoder),
            world.users,
            world.revocations,
            world.throttle,
            fake_keys,
            FakeChangeFeed(world.db, FEED_SLOTS, FEED_SLOTS_PER_USER),
            lambda bound: FakeChangeFeed(world.db, max_stored_bytes=bound),
            world.quotas,
            fake_usage,
        )
    client: TarantoolClient = request.getfixturevalue("client")
    watch_client: TarantoolClient = request.getfixturevalue("watch_client")

    async def stored_keys(user_id: int) -> set[str]:
        code = "return box.space.kv_data.index.primary:select({...})"
        return {row[1] for row in await client.eval(code, [user_id])}

    async def stored_usage(user_id: int) -> tuple[int, int]:
        keys, size = await client.eval(STORED_USAGE, [user_id])
        return int(keys), int(size)

    return Backend(
        tarantool_kv(client),
        TarantoolUserRepository(client),
        TarantoolTokenRevocations(client),
        TarantoolAttemptCounter(client, *THROTTLE),
        stored_keys,
        TarantoolChangeFeed(watch_client, client, FEED_SLOTS, FEED_SLOTS_PER_USER),
        lambda bound: TarantoolChangeFeed(watch_client, client, 10, 10, bound),
        TarantoolQuotaRepository(client),
        stored_usage,
    )


# A user's pairs and the sum of their bsize(), counted over kv_data.
STORED_USAGE = """
local keys, size = 0, 0
for _, t in box.space.kv_data:pairs({...}, {iterator = 'EQ'}) do
    keys, size = keys + 1, size + t:bsize()
end
return {keys, size}
"""
