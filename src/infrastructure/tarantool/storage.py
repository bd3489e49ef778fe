import asyncio
import logging
from collections.abc import Awaitable, Callable

from kv_api.infrastructure.settings import Settings, StartupError, TarantoolAddress
from kv_api.infrastructure.tarantool.client import CallObserver, TarantoolClient
from kv_api.infrastructure.tarantool.functions import define_functions
from kv_api.infrastructure.tarantool.managed import ManagedTarantool
from kv_api.infrastructure.tarantool.migrations import MigrationRunner
from kv_api.infrastructure.tarantool.stats import StoreStats, read_store_stats

log = logging.getLogger("kv_api.storage")
ReadyHook = Callable[[], Awaitable[None]]


class Storage:
    """The primary (managed or external), optional read replicas, and schema bootstrap."""

    def __init__(self, settings: Settings, observer: CallObserver | None = None) -> None:
        self._settings = settings
        self._schema_current = False
        self.managed = ManagedTarantool(settings) if settings.embedded else None
        address, user, password = (
            settings.tarantool,
            settings.tarantool_user,
            settings.tarantool_password,
        )
        if self.managed is not None:
            creds = self.managed.credentials
            address, user, password = creds.address, creds.user, creds.password
        assert address is not None
        self.primary = self._client(address, user, password)
        # the change feed's own connection: its calls wait up to the watch timeout, so its
        # request timeout is longer by the usual one
        self.watch = TarantoolClient(
            address,
            user,
            password,
            settings.connect_timeout,
            settings.watch_max_timeout + settings.request_timeout,
            self._define_lazily,
        )
        self.replicas = (
            [
                self._client(a, settings.tarantool_user, settings.tarantool_password)
                for a in settings.replicas
            ]
            if settings.read_from_replicas
            else []
        )
        self.migrated = False
        self._bootstrap: asyncio.Task[None] | None = None
        self._hooks: list[ReadyHook] = []
        if observer is not None:
            for client in [self.primary, self.watch, *self.replicas]:
                client.observe(observer)

    def _client(
        self, address: TarantoolAddress, user: str | None, password: str | None
    ) -> TarantoolClient:
        s = self._settings
        return TarantoolClient(
            address, user, password, s.connect_timeout, s.request_timeout, self._define_lazily
        )

    async def define_functions(self) -> None:
        """Once the migrations are applied: the Lua functions on the primary now, on the other
        connections (and again after a Tarantool restart) when a call first misses one."""
        await define_functions(self.primary)
        self._schema_current = True

    async def _define_lazily(self, client: TarantoolClient) -> bool:
        """Before the schema is current a missing function stays missing (503 as for a store
        not ready): no function may run on a schema older than the one it was written for."""
        if not self._schema_current:
            return False
        await define_functions(client)
        return True

    def on_ready(self, hook: ReadyHook) -> None:
        self._hooks.append(hook)

    async def start(self, wait: float) -> None:
        if self.managed is not None:
            await self.managed.start()
        for replica in self.replicas:
            replica.start()
        self._bootstrap = asyncio.create_task(self._prepare())
        try:
            await asyncio.wait_for(asyncio.shield(self._bootstrap), wait)
        except TimeoutError:
            problem = self._startup_problem()
            if problem is not None:
                await self.stop()
                raise StartupError(problem) from None
            log.warning(
                "tarantool at %s is not reachable yet; serving 503 until it is",
                self.primary.address,
            )

    def _startup_problem(self) -> str | None:
        """Reasons to give up at start; an external Tarantool that is merely down is not one."""
        address = f"{self.primary.address.host}:{self.primary.address.port}"
        if self.managed is not None:
            return (
                "the managed tarantool did not come up; see tarantool.log and stderr.log "
                f"in {self.managed.work_dir}"
            )
        if self.primary.refusal is not None:
            return (
                f"tarantool at {address} refused the connection ({self.primary.refusal}); "
                "check KV_TARANTOOL_USER and KV_TARANTOOL_PASSWORD"
            )
        return None

    async def _prepare(self) -> None:
        await self.primary.wait_connected(float("inf"))
        self.watch.start()
        while True:
            try:
                await MigrationRunner(self.primary, self._settings.migrations_dir).apply()
                await self.define_functions()
                for hook in self._hooks:
                    await hook()
                break
            except Exception:
                log.exception("schema bootstrap failed; retrying")
                await asyncio.sleep(1.0)
        await self.watch.wait_connected(self._settings.connect_timeout)
        self.migrated = True
        log.info(
            "storage ready",
            extra={"tarantool": f"{self.primary.address.host}:{self.primary.address.port}"},
        )

    def connections(self) -> list[tuple[str, int, bool]]:
        """(role, index, connected) of the primary, then of each read replica."""
        replicas = [("replica", i, r.connected) for i, r in enumerate(self.replicas)]
        return [("primary", 0, self.primary.connected), *replicas]

    async def stats(self) -> StoreStats:
        return await read_store_stats(self.primary)

    async def ready(self, timeout: float = 1.0) -> bool:
        return self.migrated and await self.primary.ping(timeout)

    async def checkpoint(self) -> None:
        if self.managed is not None and self.primary.connected:
            try:
                await self.primary.eval("box.snapshot()", [])
            except Exception:
                log.warning("checkpoint before shutdown failed", exc_info=True)

    async def stop(self) -> None:
        if self._bootstrap is not None and not self._bootstrap.done():
            self._bootstrap.cancel()
        await self.checkpoint()
        for client in [self.watch, self.primary, *self.replicas]:
            await client.close()
        if self.managed is not None:
            await self.managed.stop()
