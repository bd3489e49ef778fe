"""A stolen token cannot brute-force the password, and registration cannot be used to flood
the password hasher."""

import asyncio
from collections.abc import Awaitable, Callable

from kv_api.presentation.app import CONTAINER
from tests.conftest import unique_name
from tests.e2e.conftest import PASSWORD, Client, bearer, register

LIMIT = 3


async def test_wrong_current_passwords_count_in_the_login_throttle(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    api = await make_api(login_max_failures=LIMIT)
    user = await register(api)
    auth = bearer(user["token"])
    guess = {"password": "new-password-42", "current_password": "wrong-guess-0"}
    statuses = []
    for _ in range(LIMIT + 2):
        resp = await api.put("/api/users/me", json=guess, headers=auth)
        statuses.append(resp.status)
    assert statuses[:LIMIT] == [403] * LIMIT
    assert statuses[LIMIT:] == [429, 429]
    assert resp.headers["Retry-After"]
    login = {"username": user["username"], "password": PASSWORD}
    assert (await api.post("/api/login", json=login)).status == 429  # one shared count


async def test_a_right_current_password_is_still_accepted_under_the_limit(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    api = await make_api(login_max_failures=LIMIT)
    user = await register(api)
    auth = bearer(user["token"])
    wrong = {"password": "new-password-42", "current_password": "wrong-guess-0"}
    assert (await api.put("/api/users/me", json=wrong, headers=auth)).status == 403
    right = {"password": "new-password-42", "current_password": PASSWORD}
    assert (await api.put("/api/users/me", json=right, headers=auth)).status == 200


async def _forget_registrations(api: Client) -> None:
    """Every test registers from 127.0.0.1 into the one count the store keeps for it."""
    storage = api.server.app[CONTAINER].storage()
    await storage.primary.eval("box.space.kv_login_failures:delete(...)", ["register:127.0.0.1"])


async def test_registration_is_rate_limited_per_client_address(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    api = await make_api(register_max_per_window=LIMIT)
    await _forget_registrations(api)
    statuses = []
    for _ in range(LIMIT + 1):
        body = {"username": unique_name(), "password": PASSWORD}
        statuses.append((await api.post("/api/register", json=body)).status)
    assert statuses == [200] * LIMIT + [429]
    body = {"username": unique_name(), "password": PASSWORD, "email": "a@example.com"}
    assert (await api.post("/users/register", json=body)).status == 429  # one count, both faces


async def test_every_api_process_shares_one_registration_count(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    """Two API processes (or `serve --workers 2`) against one store: the limit is the limit,
    not twice it."""
    first = await make_api(register_max_per_window=LIMIT)
    second = await make_api(register_max_per_window=LIMIT)
    await _forget_registrations(first)
    statuses = []
    for n in range(LIMIT + 1):
        api = first if n % 2 == 0 else second
        body = {"username": unique_name(), "password": PASSWORD}
        statuses.append((await api.post("/api/register", json=body)).status)
    assert statuses == [200] * LIMIT + [429]


async def test_a_full_hashing_queue_answers_503_with_retry_after(
    make_api: Callable[..., Awaitable[Client]],
) -> None:
    api = await make_api(max_hash_queue=1, hash_workers=1, argon2_memory_kib=65536)
    bodies = [{"username": unique_name(), "password": PASSWORD} for _ in range(8)]
    answers = await asyncio.gather(*(api.post("/api/register", json=b) for b in bodies))
    statuses = sorted(resp.status for resp in answers)
    assert 200 in statuses and 503 in statuses, statuses
    busy = next(resp for resp in answers if resp.status == 503)
    assert busy.headers["Retry-After"] == "1"
    assert (await busy.json())["error"]["code"] == "overloaded"
