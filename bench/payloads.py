"""The data set and the request bodies every scenario sends, for wrk and for the driver."""

from dataclasses import dataclass, field
from typing import Any

import orjson

DATASET_SIZE = 1000
VALUE_BYTES = 100
TTL_SECONDS = 3600
# Stands for the expected version in a conditional write's body file; no value contains it.
VERSION_MARK = 987_654_321


def value_for(index: int) -> Any:
    """About 100 bytes of JSON: mostly strings, every fourth one a nested object."""
    if index % 4 == 3:
        return {
            "id": index,
            "name": f"item-{index:05d}",
            "price": index * 1.25,
            "tags": ["bench", "nested", f"t{index % 7}"],
            "meta": {"active": index % 2 == 0, "owner": None, "rank": [index, -index]},
        }
    text = f"value-{index:05d}-"
    return text + "x" * (VALUE_BYTES - len(text))


def dataset(size: int = DATASET_SIZE) -> dict[str, Any]:
    return {f"bench:key:{i:05d}": value_for(i) for i in range(size)}


def cas_items(owner: int, size: int = DATASET_SIZE) -> dict[str, Any]:
    """The keys one conditional writer owns: concurrent writers of the same keys would make
    the losers' 409s part of the figure, and the scenario measures writes that win."""
    return {f"bench:cas:{owner:02d}:{i:05d}": value_for(i) for i in range(size)}


@dataclass(frozen=True)
class Batch:
    """One scenario's request: `kind` is read, write or cas (a write with if_version for
    every key, at the versions its writer tracks), `size` keys per request, `options` the
    body's other members."""

    name: str
    kind: str
    items: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.items)

    @property
    def keys(self) -> list[str]:
        return list(self.items)

    def path(self) -> str:
        return "/api/read" if self.kind == "read" else "/api/write"

    def body(self, version: int = VERSION_MARK) -> dict[str, Any]:
        if self.kind == "read":
            return {"keys": self.keys}
        if self.kind == "cas":
            return {"data": self.items, "if_version": dict.fromkeys(self.items, version)}
        return {"data": self.items, **self.options}

    def body_bytes(self, version: int = VERSION_MARK) -> bytes:
        return orjson.dumps(self.body(version))

    def for_owner(self, owner: int) -> "Batch":
        """A cas batch of the same size over the keys of writer `owner`."""
        return Batch(self.name, self.kind, cas_items(owner, self.size), self.options)


def batches(data: dict[str, Any]) -> dict[str, Batch]:
    first10 = dict(list(data.items())[:10])
    return {
        "read10": Batch("read10", "read", first10),
        "write10": Batch("write10", "write", first10),
        "write1000": Batch("write1000", "write", data),
        "read1000": Batch("read1000", "read", data),
        "write1000_ttl": Batch("write1000_ttl", "write", data, {"ttl": TTL_SECONDS}),
        "cas1000": Batch("cas1000", "cas", cas_items(0, len(data))),
    }


def login_body(username: str, password: str) -> bytes:
    return orjson.dumps({"username": username, "password": password})
