"""A delete logs its change inside its transaction when the entry fits, else right after its
commit (on a full store, once the deleted tuples' memory is back). The first attempt failing
half-way must leave nothing of itself behind. The failure is injected through the helpers the
Lua functions share, as a full arena cannot be made to fail at exactly that step."""

from typing import Any

from kv_api.application.ports import DeleteOutcome, Session, WriteOptions
from kv_api.infrastructure.tarantool.client import TarantoolClient
from tests.support.writes import PairWrites

# The next change_log.record call inside a delete's transaction does its work, then fails as a
# full arena would; it puts the real one back first, so the retry after the commit is real.
FAIL_NEXT_RECORD = """
local changelog = package.loaded['kv_api.change_log']
local record = changelog.record
changelog.record = function(...)
    changelog.record = record
    record(...)
    box.error(box.error.MEMORY_ISSUE, 64, 'the slab allocator', 'a change')
end
"""
LOG = """
local uid = ...
local parts = {}
for _, t in box.space.kv_changes:pairs({uid}) do parts[#parts + 1] = {t[2], t[3], t[5]} end
local r = box.space.kv_revisions:get(uid)
return {parts, {r[2], r[3]}}
"""


async def _log(client: TarantoolClient, session: Session) -> Any:
    return await client.eval(LOG, [session.user_id])


async def test_a_delete_whose_entry_fails_in_its_transaction_is_logged_once_after_commit(
    client: TarantoolClient, kv: PairWrites, session: Session
) -> None:
    await kv.write(session, {"a": 1, "b": 2, "c": 3}, WriteOptions())
    await client.eval(FAIL_NEXT_RECORD, [])

    outcome = await kv.delete(session, ["a", "b", "missing"], {})

    assert outcome == DeleteOutcome(deleted=2, revision=2)
    parts, (revision, kept) = await _log(client, session)
    assert parts == [
        [1, 1, [["a", "put", 1], ["b", "put", 1], ["c", "put", 1]]],
        [2, 1, [["a", "delete", 1], ["b", "delete", 1]]],
    ]
    assert (revision, kept) == (2, 5)
    assert await kv.read(session, ["a", "b", "c"]) == {"c": 3}


async def test_the_next_change_after_a_late_logged_delete_follows_it(
    client: TarantoolClient, kv: PairWrites, session: Session
) -> None:
    await kv.write(session, {"a": 1}, WriteOptions())
    await client.eval(FAIL_NEXT_RECORD, [])
    await kv.delete(session, ["a"], {})

    written = await kv.write(session, {"a": 2}, WriteOptions())

    assert written.revision == 3
    parts, _ = await _log(client, session)
    assert [(revision, part) for revision, part, _ in parts] == [(1, 1), (2, 1), (3, 1)]
    assert parts[2][2] == [["a", "put", 1]]
