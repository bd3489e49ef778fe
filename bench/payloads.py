"""The data set and the request bodies every scenario sends, for wrk and for the driver."""

from dataclasses import dataclass
from typing import Any

import orjson

DATASET_SIZE = 1000
VALUE_BYTES = 100


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


@dataclass(frozen=True)
class Batch:
    """One scenario's request: `kind` is read or write, `size` keys per request."""

    name: str
    kind: str
    items: dict[str, Any]

    @property
    def size(self) -> int:
        return len(self.items)

    @property
    def keys(self) -> list[str]:
        return list(self.items)

    def path(self) -> str:
        return f"/api/{self.kind}"

    def body(self) -> dict[str, Any]:
        if self.kind == "read":
            return {"keys": self.keys}
        return {"data": self.items}

    def body_bytes(self) -> bytes:
        return orjson.dumps(self.body())


def batches(data: dict[str, Any]) -> dict[str, Batch]:
    first10 = dict(list(data.items())[:10])
    return {
        "read10": Batch("read10", "read", first10),
        "write10": Batch("write10", "write", first10),
        "write1000": Batch("write1000", "write", data),
        "read1000": Batch("read1000", "read", data),
    }


def login_body(username: str, password: str) -> bytes:
    return orjson.dumps({"username": username, "password": password})
