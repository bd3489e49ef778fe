"""`make bench`'s peer, etcd, without etcd: the txn bodies it is sent, how its answers are
judged, and how API / etcd is taken. No timing is asserted; running etcd is `make bench`'s."""

import base64
import json
from typing import Any

import pytest

from bench import etcd
from bench.payloads import batches, dataset
from bench.report import Results, document, render, rows
from bench.run import parse_args
from bench.runner import round_order, round_ratios
from bench.stats import Measurement

BATCHES = batches(dataset(40))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _kv(key: str, value: Any) -> dict[str, Any]:
    """One key as the gateway lists it: base64 key and value, revisions as strings."""
    return {
        "key": _b64(key.encode()),
        "create_revision": "2",
        "mod_revision": "2",
        "version": "1",
        "value": _b64(json.dumps(value, separators=(",", ":")).encode()),
    }


def _answer(responses: list[dict[str, Any]]) -> dict[str, Any]:
    header = {"cluster_id": "1", "member_id": "2", "revision": "2", "raft_term": "2"}
    return {"header": header, "succeeded": True, "responses": responses}


def _read_answer(items: dict[str, Any]) -> dict[str, Any]:
    return _answer(
        [
            {"response_range": {"header": {"revision": "2"}, "kvs": [_kv(k, v)], "count": "1"}}
            for k, v in items.items()
        ]
    )


def _write_answer(size: int) -> dict[str, Any]:
    return _answer([{"response_put": {"header": {"revision": "2"}}}] * size)


def test_read10_is_one_txn_of_ten_ranges_with_base64_keys() -> None:
    batch = BATCHES["read10"]
    body = json.loads(etcd.txn_bytes(batch))
    assert list(body) == ["success"]  # no compare: the txn always takes its success branch
    keys = [base64.b64decode(op["request_range"]["key"]).decode() for op in body["success"]]
    assert keys == batch.keys and len(keys) == 10


def test_write1000_puts_every_pair_with_the_json_text_of_its_value() -> None:
    batch = BATCHES["write1000"]
    puts = [op["request_put"] for op in json.loads(etcd.txn_bytes(batch))["success"]]
    assert len(puts) == batch.size
    stored = {
        base64.b64decode(put["key"]).decode(): json.loads(base64.b64decode(put["value"]))
        for put in puts
    }
    assert stored == batch.items  # the nested objects too, value for value
    assert batches(dataset())["write1000"].size == etcd.MAX_TXN_OPS  # fits --max-txn-ops


@pytest.mark.parametrize("name", ["write1000_ttl", "cas1000"])
def test_scenarios_etcd_has_no_counterpart_of_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="no counterpart"):
        etcd.txn_body(BATCHES[name])


def test_full_answers_pass() -> None:
    read, write = BATCHES["read10"], BATCHES["write1000"]
    etcd.check_answer(read, 200, _read_answer(read.items))
    etcd.check_answer(write, 200, _write_answer(write.size))


def test_a_read_of_other_values_or_missing_keys_fails() -> None:
    read = BATCHES["read10"]
    wrong = dict(read.items)
    wrong[read.keys[3]] = "something else"
    with pytest.raises(RuntimeError, match=read.keys[3]):
        etcd.check_answer(read, 200, _read_answer(wrong))
    missing = _read_answer(read.items)
    missing["responses"][5] = {"response_range": {"header": {"revision": "2"}}}
    with pytest.raises(RuntimeError, match=read.keys[5]):
        etcd.check_answer(read, 200, missing)
    malformed = _read_answer(read.items)
    del malformed["responses"][1]["response_range"]["kvs"][0]["value"]
    malformed["responses"][2] = "not an object"
    with pytest.raises(RuntimeError, match=read.keys[1]):
        etcd.check_answer(read, 200, malformed)


@pytest.mark.parametrize(
    ("status", "answer", "message"),
    [
        # what the gateway answers 200 to a body it does not understand: an empty success
        (200, {"header": {"revision": "2"}, "succeeded": True}, "0 responses for 40"),
        (200, {"error": "etcdserver: too many operations in txn request", "code": 3}, "not a"),
        (200, {**_write_answer(40), "succeeded": False}, "not a succeeded txn"),
        (200, _write_answer(39), "39 responses for 40"),
        (200, _read_answer(BATCHES["write1000"].items), "40 of 40 operations are not puts"),
        (400, {"error": "bad request", "code": 3}, "status 400"),
        (404, "Not Found", "status 404"),
    ],
)
def test_answers_short_of_the_whole_txn_fail(status: int, answer: Any, message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        etcd.check_answer(BATCHES["write1000"], status, answer)


def _measured(rate: float, cpu: float | None = None, store: float | None = None) -> Measurement:
    return Measurement(
        requests=int(rate * 3),
        seconds=3.0,
        batch_size=10,
        p50_ms=2,
        p99_ms=5,
        cpu_us=cpu,
        tarantool_cpu_us=store,
    )


def test_rounds_rotate_who_goes_first() -> None:
    assert [round_order(["api", "ceiling"], i) for i in range(3)] == [
        ["api", "ceiling"],
        ["ceiling", "api"],
        ["api", "ceiling"],
    ]
    sides = ["api", "ceiling", "etcd"]
    orders = [round_order(sides, i) for i in range(3)]
    assert [order[0] for order in orders] == sides  # each goes first once in three rounds
    assert all(sorted(order) == sorted(sides) for order in orders)


def test_api_over_etcd_is_the_median_round_with_its_range() -> None:
    api = [_measured(3000), _measured(2400), _measured(2700)]
    peer = [_measured(1000), _measured(1000), _measured(0)]  # a round etcd served nothing
    assert round_ratios(api, peer) == [3.0, 2.4]
    results = Results(
        api={"write1000": _measured(2700, cpu=1000, store=2000)},
        etcd={"write1000": _measured(100, cpu=40_000)},
        etcd_rounds={"write1000": [30.0, 25.0, 27.0]},
        etcd_version="3.4.23",
    )
    results.etcd_rounds["write1000"] = [30.0, 20.0, 21.0]
    assert results.etcd_ratio("write1000") == 21.0  # the median round, not the whole runs' 27
    [row] = rows(results)
    assert "21.00x (20.00-30.00)" in row and "100" in row
    text = render(results)
    assert "etcd 3.4.23 write1000: API/etcd 21.00x (20.00-30.00)" in text
    assert "API 1,000 + Tarantool 2,000 = 3,000, etcd 40,000" in text
    doc = document(results, {}, {})
    assert doc["etcd_ratios"] == {"write1000": 21.0}
    assert doc["etcd_rounds"] == {"write1000": [30.0, 20.0, 21.0]}
    assert doc["etcd_version"] == "3.4.23" and doc["etcd"]["write1000"]["requests_per_s"] == 100
    # without rounds, the whole runs
    assert Results(api={"r": _measured(300)}, etcd={"r": _measured(100)}).etcd_ratio("r") == 3.0


def test_a_run_without_etcd_shows_none_of_it() -> None:
    results = Results(api={"read10": _measured(2000)})
    assert results.etcd_ratio("read10") is None
    assert "etcd " not in render(results).split("\n", 2)[2]  # only the header names it
    assert parse_args(["--no-etcd"]).etcd is False
    assert parse_args([]).etcd is True  # make bench runs the peer unless told not to
