"""The peer: etcd, through its JSON gateway, on the same read10 and write1000 loads as the API.

The bench starts its own etcd (Debian's etcd-server, 3.4) on free ports of 127.0.0.1 with its
data under /dev/shm, so its WAL is not synced to a disk, as Tarantool's `wal_mode=write` does
not sync. It loads the API's data set (the same 1,000 keys and the same JSON values), then wrk
sends one txn per request to `POST /v3/kv/txn`: read10 is 10 range requests, write1000 is
1,000 puts (`--max-txn-ops 1000`). etcd runs without authentication.
"""

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson

from bench.payloads import Batch
from bench.servers import Process
from kv_api.infrastructure.tarantool.managed import free_port

SCENARIOS = ("read10", "write1000")
MAX_TXN_OPS = 1000
TXN_PATH = "/v3/kv/txn"
# RAM-backed, so etcd's fsync costs nothing: the like of Tarantool's wal_mode=write.
DATA_ROOT = Path("/dev/shm")


def require_etcd() -> str:
    path = shutil.which("etcd")
    if path is None:
        raise RuntimeError(
            "etcd is not installed: apt-get install -y etcd-server (or `make bench`), "
            "or skip the peer with --no-etcd"
        )
    return path


def version() -> str:
    """`etcd --version`'s first line without its label, such as 3.4.23."""
    output = subprocess.run(
        [require_etcd(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    first = output.splitlines()[0] if output else "unknown"
    return first.split(":", 1)[-1].strip()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def stored_value(value: Any) -> bytes:
    """What etcd stores for a pair: the JSON text of the value the API stores."""
    return orjson.dumps(value)


def txn_body(batch: Batch) -> dict[str, Any]:
    """One txn with no compare: a range request per key (read) or a put per pair (write).
    The gateway takes keys and values as base64."""
    if batch.kind == "read":
        success = [{"request_range": {"key": _b64(key.encode())}} for key in batch.keys]
    elif batch.kind == "write" and not batch.options:
        success = [
            {"request_put": {"key": _b64(key.encode()), "value": _b64(stored_value(value))}}
            for key, value in batch.items.items()
        ]
    else:
        raise ValueError(f"{batch.name}: etcd has no counterpart of this scenario")
    return {"success": success}


def txn_bytes(batch: Batch) -> bytes:
    return orjson.dumps(txn_body(batch))


def check_answer(batch: Batch, status: int, answer: Any) -> None:
    """Insist on the full answer: the gateway answers 200 with no responses to a body it does
    not understand, and a range of a missing key is a response with no kvs."""
    where = f"etcd {batch.name}"
    if status != 200:
        raise RuntimeError(f"{where}: status {status}: {str(answer)[:300]}")
    if not isinstance(answer, dict) or "error" in answer or answer.get("succeeded") is not True:
        raise RuntimeError(f"{where}: not a succeeded txn: {str(answer)[:300]}")
    responses = answer.get("responses")
    if not isinstance(responses, list) or len(responses) != batch.size:
        count = len(responses) if isinstance(responses, list) else 0
        raise RuntimeError(f"{where}: {count} responses for {batch.size} operations")
    if batch.kind == "write":
        missing = sum(1 for r in responses if not isinstance(_member(r, "response_put"), dict))
        if missing:
            raise RuntimeError(f"{where}: {missing} of {batch.size} operations are not puts")
        return
    for (key, value), response in zip(batch.items.items(), responses, strict=True):
        found = _range_pairs(response)
        if found != [(key.encode(), stored_value(value))]:
            what = "a malformed range" if found is None else (found[0] if found else "nothing")
            raise RuntimeError(f"{where}: {key} read back as {what}")


def _member(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else None


def _range_pairs(response: Any) -> list[tuple[bytes, bytes]] | None:
    """The (key, value) pairs of one range response, decoded; None when it is not one."""
    kvs = _member(_member(response, "response_range"), "kvs") or []
    try:
        return [(base64.b64decode(kv["key"]), base64.b64decode(kv["value"])) for kv in kvs]
    except (KeyError, TypeError, ValueError):
        return None


def post(url: str, body: bytes, timeout: float = 30.0) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text.decode(errors="replace")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(json.loads(response.read()).get("health") == "true")
    except (urllib.error.URLError, OSError, ValueError):
        return False


class EtcdServer(Process):
    """One etcd member of its own cluster; its data folder is removed when it stops."""

    def __init__(self, work_dir: Path) -> None:
        work_dir.mkdir(parents=True, exist_ok=True)
        super().__init__("etcd", work_dir / "etcd.log")
        self.work_dir = work_dir
        self.data_dir: Path | None = None
        self.port = free_port()
        self.peer_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"

    def argv(self, data_dir: Path) -> list[str]:
        client = self.base_url
        peer = f"http://127.0.0.1:{self.peer_port}"
        return [
            require_etcd(),
            "--name=bench",
            f"--data-dir={data_dir}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=bench={peer}",
            "--initial-cluster-state=new",
            f"--max-txn-ops={MAX_TXN_OPS}",
            "--logger=zap",
            "--log-level=warn",
        ]

    def start(self, timeout: float = 30.0, cpus: frozenset[int] | None = None) -> "EtcdServer":
        if not DATA_ROOT.is_dir():
            # on a disk every txn would wait for fsync: not the comparison this run makes
            raise RuntimeError(f"{DATA_ROOT} is missing; run with --no-etcd")
        self.data_dir = Path(tempfile.mkdtemp(prefix="kv-bench-etcd-", dir=DATA_ROOT))
        self.spawn(self.argv(self.data_dir / "data"), self.work_dir, {}, cpus)
        deadline = time.monotonic() + timeout
        while not _healthy(self.base_url + "/health"):
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"etcd not healthy in {timeout:.0f}s; see {self.log_path}")
            time.sleep(0.1)
        return self

    def load(self, batches: list[Batch]) -> None:
        """Send each scenario's txn once and insist on the full answer (writes first: they
        load the data set the reads then find)."""
        for batch in sorted(batches, key=lambda b: b.kind != "write"):
            status, answer = post(self.base_url + TXN_PATH, txn_bytes(batch))
            check_answer(batch, status, answer)

    def stop(self, timeout: float = 15.0) -> None:
        try:
            super().stop(timeout)
        finally:
            if self.data_dir is not None:
                shutil.rmtree(self.data_dir, ignore_errors=True)
                self.data_dir = None
