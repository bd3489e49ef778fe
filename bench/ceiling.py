"""The ceiling: what aiohttp, uvloop, orjson and asynctnt alone reach for the same requests.

A minimal server that answers `POST /api/read` and `POST /api/write` with ONE call of the same
Lua function the API calls, and does nothing else: no authentication (the bench user's
session is fixed at start), no validation, no metrics, no access log, no request ids. The API
divided by this is the share of the framework's capacity the API keeps after its own work.
It runs with the API's garbage-collector settings, so the ratio compares per-request work,
not collector policy.

python -m bench.ceiling --port P --tarantool HOST:PORT --user U --password W --session UID:VER:JTI
"""

import argparse
from typing import Any

import asynctnt
import msgspec
import orjson
import uvloop
from aiohttp import web

from kv_api.domain.quotas import QuotaPolicy
from kv_api.presentation.gc_tuning import timed_collection, tune_for_serving
from kv_api.presentation.housekeeping import Housekeeping

MAX_READ_BYTES = 16 * 1024 * 1024
CHANGES_KEEP = 100_000  # the API's default KV_CHANGES_KEEP
QUOTA = QuotaPolicy().defaults  # the API's default KV_USER_MAX_KEYS and KV_USER_MAX_BYTES
CONNECTION = web.AppKey("connection", asynctnt.Connection)
SESSION = web.AppKey("session", tuple)
_pack = msgspec.msgpack.Encoder().encode


def _json(data: Any) -> web.Response:
    return web.Response(body=orjson.dumps(data), content_type="application/json")


async def read(request: web.Request) -> web.Response:
    keys = orjson.loads(await request.read())["keys"]
    response = await request.app[CONNECTION].call(
        "kv_read", [*request.app[SESSION], keys, MAX_READ_BYTES]
    )
    found = {row[1]: row[2] for row in response.body[0]}
    response.body.clear()  # as the API and the driver do: the reply is freed without the collector
    return _json({"data": found, "not_found": [k for k in keys if k not in found]})


async def write(request: web.Request) -> web.Response:
    data = orjson.loads(await request.read())["data"]
    # each pair the key then the value, in one string: the function builds the tuples
    pairs = [_pack(key) + _pack(value) for key, value in data.items()]
    sizes, joined = [len(pair) for pair in pairs], b"".join(pairs)
    args = [*request.app[SESSION], False, sizes, joined, None, None, None, CHANGES_KEEP]
    args += [QUOTA.keys, QUOTA.bytes]
    response = await request.app[CONNECTION].call("kv_write_pairs", args)
    written, skipped, revision = response.body[0]
    response.body.clear()
    answer = {"status": "success", "written": written, "skipped": skipped, "revision": revision}
    return _json(answer)


def app(args: argparse.Namespace) -> web.Application:
    host, port = args.tarantool.rsplit(":", 1)
    uid, version, jti = args.session.split(":", 2)
    application = web.Application()
    application[SESSION] = (int(uid), int(version), jti)
    application.router.add_post("/api/read", read)
    application.router.add_post("/api/write", write)

    async def connection(application: web.Application) -> Any:
        conn = asynctnt.Connection(
            host=host,
            port=int(port),
            username=args.user,
            password=args.password,
            fetch_schema=False,
            auto_refetch_schema=False,
            request_timeout=30.0,
        )
        await conn.connect()
        application[CONNECTION] = conn
        tune_for_serving()
        collector = Housekeeping([timed_collection()])
        collector.start()
        yield
        await collector.stop()
        await conn.disconnect()

    application.cleanup_ctx.append(connection)
    return application


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__)
    for name in ("--port", "--tarantool", "--user", "--password", "--session"):
        parser.add_argument(name, required=True)
    args = parser.parse_args(argv)
    loop = uvloop.new_event_loop()
    web.run_app(
        app(args), host="127.0.0.1", port=int(args.port), access_log=None, print=None, loop=loop
    )


if __name__ == "__main__":
    main()
