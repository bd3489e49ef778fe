"""The expiry schedule behind the purge (kv_expiry): one row per pair that has an expiry, due at
or before it. A rewrite that moves the expiry later leaves the row where it is, and the purge
moves the row when it comes due: the usual rewrite with a ttl writes no row. A sooner expiry
moves the row; a write without a ttl and a delete remove it."""

import asyncio
import random
import time

from kv_api.application.ports import Session, WriteOptions
from kv_api.domain.keys import WriteMode
from kv_api.infrastructure.tarantool.client import TarantoolClient
from tests.support.writes import PairWrites

# {key: due} of the user's rows, and {key: expires_at} of the user's pairs that have one
ROWS = """
local uid = ...
local rows, expiring = {}, {}
for _, e in box.space.kv_expiry:pairs() do
    if e[2] == uid then rows[e[3]] = e[1] end
end
for _, t in box.space.kv_data:pairs({uid}, {iterator = 'EQ'}) do
    if t[5] ~= nil then expiring[t[2]] = t[5] end
end
return {rows, expiring}
"""


async def _schedule(client: TarantoolClient, session: Session) -> tuple[dict[str, int], ...]:
    # an empty Lua table comes back as an empty array
    found = await client.eval(ROWS, [session.user_id])
    return tuple({str(k): int(v) for k, v in (part or {}).items()} for part in found)


async def rows_of(client: TarantoolClient, session: Session) -> dict[str, int]:
    return (await _schedule(client, session))[0]


async def assert_schedule_holds(client: TarantoolClient, session: Session) -> None:
    rows, expiring = await _schedule(client, session)
    assert set(rows) == set(expiring), (rows, expiring)
    assert all(rows[k] <= expiring[k] for k in rows), (rows, expiring)


async def expiry_of(kv: PairWrites, session: Session, key: str) -> int:
    _, meta = await kv.read_with_meta(session, [key])
    expires_at = meta[key].expires_at
    assert expires_at is not None
    return expires_at


async def purge_all(kv: PairWrites) -> None:
    while (await kv.purge_expired(1000)).more:
        pass


async def test_a_later_expiry_leaves_the_row_and_the_purge_moves_it(
    client: TarantoolClient, kv: PairWrites, session: Session
) -> None:
    await kv.write(session, {"k": 1}, WriteOptions(ttl=1))
    first = await expiry_of(kv, session, "k")
    assert await rows_of(client, session) == {"k": first}

    await kv.write(session, {"k": 2}, WriteOptions(ttl=3600))
    later = await expiry_of(kv, session, "k")
    assert await rows_of(client, session) == {"k": first}

    await asyncio.sleep(max(0.0, first - time.time()) + 0.05)
    await purge_all(kv)
    assert await rows_of(client, session) == {"k": later}
    assert await kv.read(session, ["k"]) == {"k": 2}


async def test_a_sooner_expiry_moves_the_row(
    client: TarantoolClient, kv: PairWrites, session: Session
) -> None:
    await kv.write(session, {"k": 1}, WriteOptions(ttl=3600))
    await kv.write(session, {"k": 2}, WriteOptions(ttl=10))
    assert await rows_of(client, session) == {"k": await expiry_of(kv, session, "k")}


async def test_a_write_without_a_ttl_and_a_delete_remove_the_row(
    client: TarantoolClient, kv: PairWrites, session: Session
) -> None:
    await kv.write(session, {"a": 1, "b": 1}, WriteOptions(ttl=3600))
    await kv.write(session, {"a": 2}, WriteOptions())
    assert set(await rows_of(client, session)) == {"b"}
    await kv.delete(session, ["b"], {})
    assert await rows_of(client, session) == {}


async def test_any_sequence_keeps_one_row_per_expiring_pair_due_no_later(
    client: TarantoolClient, kv: PairWrites, session: Session
) -> None:
    chance = random.Random(20261206)
    keys = [f"k{i}" for i in range(12)]
    for _ in range(150):
        picked = chance.sample(keys, chance.randint(1, 4))
        action = chance.random()
        if action < 0.2:
            await kv.delete(session, picked, {})
        else:
            ttls = {k: chance.choice([None, 5, 60, 3600, 86400]) for k in picked}
            mode = WriteMode.INSERT if action < 0.3 else WriteMode.UPSERT
            options = WriteOptions(mode, ttls={k: t for k, t in ttls.items() if t is not None})
            await kv.write(session, dict.fromkeys(picked, 0), options)
        await assert_schedule_holds(client, session)
