"""A user's usage row lives and dies with the account: the delete that removes the account
removes its row in the same transaction, so no row outlives its owner."""

from kv_api.application.ports import Session, WriteOptions
from kv_api.infrastructure.tarantool.client import TarantoolClient
from kv_api.infrastructure.tarantool.users import TarantoolUserRepository
from tests.support.writes import PairWrites

ROW = "return box.space.kv_usage:get(...)"


async def test_deleting_an_account_removes_its_usage_row(
    client: TarantoolClient, kv: PairWrites, session: Session
) -> None:
    await kv.write(session, {"a": 1, "b": "two"}, WriteOptions())
    row = await client.eval(ROW, [session.user_id])
    assert row is not None and row[1] == 2

    await TarantoolUserRepository(client).delete(session)

    assert await client.eval(ROW, [session.user_id]) is None
