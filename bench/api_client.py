"""Preparing the run through the public API: a user, a token, the data set, checked bodies."""

import secrets
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

from bench.payloads import Batch
from kv_api.application.ports import Session
from kv_api.infrastructure.security.tokens import session_from_claims


@dataclass(frozen=True)
class BenchUser:
    username: str
    password: str
    token: str

    def session(self) -> Session:
        """What the API makes of this token: the session arguments of every Lua call."""
        return session_from_claims(jwt.decode(self.token, options={"verify_signature": False}))

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def _post(
    http: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str] | None = None
) -> Any:
    async with http.post(url, json=body, headers=headers) as response:
        payload = await response.json()
        if response.status != 200:
            raise RuntimeError(f"POST {url} answered {response.status}: {payload}")
        return payload


async def create_user(base_url: str) -> BenchUser:
    username = f"bench_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    async with aiohttp.ClientSession() as http:
        await _post(http, base_url + "/api/register", {"username": username, "password": password})
        body = await _post(
            http, base_url + "/api/login", {"username": username, "password": password}
        )
    return BenchUser(username, password, body["token"])


async def cas_versions(base_url: str, user: BenchUser, batch: Batch, owners: int) -> list[int]:
    """The current version of each conditional writer's keys (all of a writer's keys are
    written together, so its first key's version is theirs); 0 for keys not written yet."""
    versions = []
    async with aiohttp.ClientSession() as http:
        for owner in range(owners):
            key = batch.for_owner(owner).keys[0]
            body = {"keys": [key], "include": ["version"]}
            answer = await _post(http, base_url + "/api/read", body, user.headers())
            versions.append(int(answer.get("meta", {}).get(key, {}).get("version", 0)))
    return versions


async def check_batch(base_url: str, user: BenchUser, batch: Batch) -> None:
    """Send the scenario's exact body once and insist on the full answer."""
    version = 0
    if batch.kind == "cas":
        (version,) = await cas_versions(base_url, user, batch, 1)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            base_url + batch.path(),
            data=batch.body_bytes(version),
            headers={**user.headers(), "Content-Type": "application/json"},
        ) as response,
    ):
        body = await response.json()
        if response.status != 200:
            raise RuntimeError(f"{batch.name}: {response.status} {body}")
    if batch.kind != "read" and body["written"] != batch.size:
        raise RuntimeError(f"{batch.name}: wrote {body['written']} of {batch.size}")
    if batch.kind == "read" and body["data"] != batch.items:
        raise RuntimeError(f"{batch.name}: read back {len(body['data'])} of {batch.size} pairs")


async def sample_answer(url: str, body: bytes, headers: dict[str, str]) -> str:
    """One request like the failing ones, to show what the API answered."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            url, data=body, headers={**headers, "Content-Type": "application/json"}
        ) as response,
    ):
        return f"{response.status} {(await response.text())[:300]}"
