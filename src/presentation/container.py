"""Composition root: every adapter and handler is wired here and nowhere else."""

from collections.abc import Iterator

from dependency_injector import containers, providers

from kv_api.application.kv.handlers import (
    DeleteBatchHandler,
    ListKeysHandler,
    ReadBatchHandler,
    WriteBatchHandler,
)
from kv_api.application.kv.watch import WatchChangesHandler
from kv_api.application.users.delete_account import DeleteAccountHandler
from kv_api.application.users.ensure_user import EnsureUserHandler
from kv_api.application.users.login import LoginHandler
from kv_api.application.users.logout import LogoutHandler
from kv_api.application.users.manage import ListUsersHandler, RemoveUserHandler
from kv_api.application.users.profile import GetProfileHandler, UpdateProfileHandler
from kv_api.application.users.register import RegisterUserHandler
from kv_api.application.users.registration_limit import RegistrationLimit
from kv_api.application.users.reset_password import ResetPasswordHandler
from kv_api.domain.changes import WatchLimits
from kv_api.domain.keys import BatchLimits
from kv_api.domain.users import PasswordPolicy
from kv_api.infrastructure.clock import SystemClock
from kv_api.infrastructure.codec import WriteBodyDecoder
from kv_api.infrastructure.security.hasher import Argon2PasswordHasher
from kv_api.infrastructure.security.tokens import JwtTokenIssuer, load_or_create_secret
from kv_api.infrastructure.security.verifier import RememberedTokens
from kv_api.infrastructure.settings import Settings
from kv_api.infrastructure.tarantool.changes import TarantoolChangeFeed
from kv_api.infrastructure.tarantool.kv import TarantoolKeyValueRepository
from kv_api.infrastructure.tarantool.sessions import (
    TarantoolLoginThrottle,
    TarantoolTokenRevocations,
)
from kv_api.infrastructure.tarantool.storage import Storage
from kv_api.infrastructure.tarantool.users import TarantoolUserRepository
from kv_api.presentation.http.metrics import Metrics
from kv_api.presentation.instrumentation import ObservedKeyValueRepository, ObservedLogin


def _hasher_resource(settings: Settings) -> Iterator[Argon2PasswordHasher]:
    hasher = Argon2PasswordHasher(
        settings.argon2_memory_kib,
        settings.argon2_time_cost,
        settings.argon2_parallelism,
        settings.hash_workers,
        settings.max_hash_queue,
    )
    try:
        yield hasher
    finally:
        hasher.close()


class Container(containers.DeclarativeContainer):
    wiring_config = containers.WiringConfiguration(
        modules=[
            "kv_api.presentation.routes.users",
            "kv_api.presentation.routes.users_face",
            "kv_api.presentation.routes.kv",
            "kv_api.presentation.routes.watch",
            "kv_api.presentation.routes.ops",
            "kv_api.presentation.routes.metrics",
        ]
    )

    settings = providers.Dependency(instance_of=Settings)
    storage = providers.Singleton(Storage, settings)
    metrics = providers.Singleton(Metrics)
    jwt_secret = providers.Singleton(
        load_or_create_secret, settings.provided.jwt_secret, settings.provided.data_dir
    )

    limits = providers.Singleton(
        BatchLimits,
        max_items=settings.provided.max_items,
        max_value_bytes=settings.provided.max_value_bytes,
        max_depth=settings.provided.max_depth,
        min_ttl=settings.provided.min_ttl,
        max_ttl=settings.provided.max_ttl,
    )
    password_policy = providers.Singleton(
        PasswordPolicy, require_composition=settings.provided.password_composition
    )
    clock = providers.Singleton(SystemClock)
    write_body = providers.Singleton(WriteBodyDecoder, limits)
    hasher = providers.Resource(_hasher_resource, settings)
    tokens = providers.Singleton(
        JwtTokenIssuer, jwt_secret, settings.provided.jwt_issuer, settings.provided.token_ttl
    )
    verified_tokens = providers.Singleton(
        RememberedTokens, jwt_secret, settings.provided.jwt_issuer
    )

    users = providers.Singleton(TarantoolUserRepository, storage.provided.primary)
    revocations = providers.Singleton(TarantoolTokenRevocations, storage.provided.primary)
    throttle = providers.Singleton(
        TarantoolLoginThrottle,
        storage.provided.primary,
        settings.provided.login_max_failures,
        settings.provided.login_window,
        # its purge also drops the registration counters kept in the same space
        providers.Callable(max, settings.provided.login_window, settings.provided.register_window),
    )
    kv = providers.Singleton(
        ObservedKeyValueRepository,
        providers.Singleton(
            TarantoolKeyValueRepository,
            storage.provided.primary,
            storage.provided.replicas,
            settings.provided.max_body_bytes,
            limits,
            settings.provided.changes_keep,
        ),
        metrics,
    )

    registration_limit = providers.Singleton(
        RegistrationLimit,
        providers.Singleton(
            TarantoolLoginThrottle,
            storage.provided.primary,
            settings.provided.register_max_per_window,
            settings.provided.register_window,
        ),
        clock,
    )
    register_user = providers.Singleton(
        RegisterUserHandler, users, hasher, tokens, clock, password_policy
    )
    ensure_user = providers.Singleton(EnsureUserHandler, users, hasher, clock, password_policy)
    remove_user = providers.Singleton(RemoveUserHandler, users)
    list_users = providers.Singleton(ListUsersHandler, users)
    reset_password = providers.Singleton(
        ResetPasswordHandler, users, hasher, clock, password_policy
    )
    login = providers.Singleton(
        ObservedLogin,
        providers.Singleton(LoginHandler, users, hasher, tokens, throttle, clock),
        metrics,
    )
    logout = providers.Singleton(LogoutHandler, revocations)
    get_profile = providers.Singleton(GetProfileHandler, users)
    update_profile = providers.Singleton(
        UpdateProfileHandler, users, hasher, tokens, clock, password_policy, throttle
    )
    delete_account = providers.Singleton(DeleteAccountHandler, users)

    write_batch = providers.Singleton(WriteBatchHandler, kv, limits)
    read_batch = providers.Singleton(ReadBatchHandler, kv, limits)
    delete_batch = providers.Singleton(DeleteBatchHandler, kv, limits)
    list_keys = providers.Singleton(ListKeysHandler, kv, limits)

    # the change feed waits on its own connection (storage.watch), never on the primary's
    change_feed = providers.Singleton(
        TarantoolChangeFeed,
        storage.provided.watch,
        storage.provided.primary,
        settings.provided.max_watches,
        metrics.provided.watches_waiting.set,
    )
    watch_limits = providers.Singleton(WatchLimits, max_timeout=settings.provided.watch_max_timeout)
    watch_changes = providers.Singleton(WatchChangesHandler, change_feed, watch_limits)
