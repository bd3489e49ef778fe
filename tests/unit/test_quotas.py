"""The quota rules of the domain, the refusal's message, the registration switch and the
per-user cap of requests in flight."""

from types import SimpleNamespace

import pytest

from kv_api.application.errors import QuotaExceeded, RegistrationClosed, TooManyInFlight
from kv_api.application.ports import Session, WriteOptions
from kv_api.application.users.commands import RegisterUser
from kv_api.application.users.quota import (
    CountNearQuotaHandler,
    SetQuota,
    SetQuotaHandler,
    ShowQuota,
    ShowQuotaHandler,
)
from kv_api.application.users.register import RegisterUserHandler
from kv_api.domain.errors import InvalidField
from kv_api.domain.quotas import (
    MAX_BYTES_LIMIT,
    MAX_KEYS_LIMIT,
    Limits,
    NearQuota,
    Own,
    OwnLimits,
    QuotaPolicy,
    Usage,
    parse_own_limit,
    passed,
)
from kv_api.domain.users import PasswordPolicy
from kv_api.presentation.http.auth import SESSION_KEY
from kv_api.presentation.http.user_share import UserShare
from tests.unit.fakes import FakeWorld, session_of

_UPSERT = WriteOptions()


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("0", "keys", 0),
        (" 1000 ", "bytes", 1000),
        ("none", "keys", Own.UNLIMITED),
        ("NONE", "bytes", Own.UNLIMITED),
        ("default", "keys", Own.DEFAULT),
        (str(MAX_KEYS_LIMIT), "keys", MAX_KEYS_LIMIT),
        (str(MAX_BYTES_LIMIT), "bytes", MAX_BYTES_LIMIT),
    ],
)
def test_own_limits_parse(text: str, field: str, expected: object) -> None:
    assert parse_own_limit(text, field) == expected


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("-1", "keys"),
        ("1.5", "bytes"),
        ("1e6", "bytes"),
        ("", "keys"),
        ("ten", "keys"),
        ("١٢", "keys"),  # digits, but not ASCII ones
        (str(MAX_KEYS_LIMIT + 1), "keys"),
        (str(MAX_BYTES_LIMIT + 1), "bytes"),
        ("9" * 400, "bytes"),
    ],
)
def test_bad_own_limits_are_refused_naming_the_rule(text: str, field: str) -> None:
    with pytest.raises(InvalidField) as refused:
        parse_own_limit(text, field)
    assert "whole number from 0 to" in refused.value.fields[field][0]


def test_own_limits_fall_back_to_the_defaults() -> None:
    defaults = Limits(10, 100)
    assert OwnLimits().under(defaults) == defaults
    assert OwnLimits(Own.UNLIMITED, 5).under(defaults) == Limits(None, 5)
    assert OwnLimits(Own.DEFAULT, Own.UNLIMITED).under(Limits(None, 7)) == Limits(None, None)


def test_only_a_figure_that_grows_past_its_limit_is_passed() -> None:
    limits = Limits(3, 100)
    assert passed(Usage(2, 50), Usage(3, 100), limits) == []
    assert passed(Usage(2, 50), Usage(4, 101), limits) == ["keys", "bytes"]
    assert passed(Usage(5, 500), Usage(5, 400), limits) == []  # over, but shrinking
    assert passed(Usage(5, 500), Usage(5, 501), limits) == ["bytes"]
    assert passed(Usage(0, 0), Usage(10**9, 10**12), Limits(None, None)) == []


def test_a_refusal_says_which_limit_and_what_is_stored() -> None:
    error = QuotaExceeded(Usage(64, 64_000_448), Usage(72, 72_000_504), Limits(1000, 67_108_864))
    assert error.code == "quota_exceeded"
    assert "stored bytes 72,000,504 over the limit of 67,108,864" in error.message
    assert "keys" not in error.message.split(";")[0].replace("stored bytes", "")
    assert "you store 64 keys, 64,000,448 bytes" in error.message


async def test_closed_registration_refuses_before_anything_else() -> None:
    world = FakeWorld()
    policy = PasswordPolicy()
    handler = RegisterUserHandler(
        world.users, world.hasher, world.tokens, world.clock, policy, registration_open=False
    )
    with pytest.raises(RegistrationClosed) as refused:
        await handler(RegisterUser("alice", "long-enough-1"))
    assert refused.value.code == "registration_closed"
    assert world.hasher.hashed == [] and world.db.users == {}
    with pytest.raises(RegistrationClosed):
        handler.ensure_open()
    RegisterUserHandler(world.users, world.hasher, world.tokens, world.clock, policy).ensure_open()


async def test_operator_quota_use_cases() -> None:
    world, policy = FakeWorld(), QuotaPolicy(max_keys=5, max_bytes=None)
    alice = await world.add_user("Alice")
    shown = await ShowQuotaHandler(world.quotas, policy)(ShowQuota("ALICE"))
    assert shown is not None and shown.username == "Alice"
    assert shown.quota.limits == Limits(5, None) and shown.quota.usage == Usage()
    changed = await SetQuotaHandler(world.quotas, policy)(SetQuota("alice", keys=1))
    assert changed is not None and changed.quota.limits == Limits(1, None)
    await world.kv.write(session_of(alice), world.encoder.from_items({"k": 1}), _UPSERT)
    counted = await CountNearQuotaHandler(world.quotas, policy)()
    assert counted == NearQuota(1, 1)
    assert await SetQuotaHandler(world.quotas, policy)(SetQuota("bob", keys=1)) is None
    assert await ShowQuotaHandler(world.quotas, policy)(ShowQuota("bob")) is None


class _Request(dict[object, object]):
    """What UserShare reads of a request: its session and its route's template."""

    def __init__(self, route: str, user_id: int | None) -> None:
        super().__init__()
        if user_id is not None:
            self[SESSION_KEY] = Session(user_id, 0, "jti", 0)
        self.match_info = SimpleNamespace(
            route=SimpleNamespace(resource=SimpleNamespace(canonical=route))
        )


def test_each_users_requests_in_flight_are_capped_apart() -> None:
    share = UserShare(limit=2)
    held = [share.enter(_Request("/api/read", 1)) for _ in range(2)]
    assert held == [1, 1] and share.holding(1) == 2
    with pytest.raises(TooManyInFlight) as refused:
        share.enter(_Request("/api/write", 1))
    assert refused.value.retry_after == 1 and "2 requests in progress" in refused.value.message
    assert share.enter(_Request("/api/read", 2)) == 2
    assert share.enter(_Request("/api/watch", 1)) is None
    assert share.enter(_Request("/api/login", None)) is None
    share.leave(1)
    assert share.enter(_Request("/api/read", 1)) == 1
    for user_id in (1, 1, 2):
        share.leave(user_id)
    assert (share.holding(1), share.holding(2)) == (0, 0)
