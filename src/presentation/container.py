"""Composition root: every adapter, use case and endpoint object is built here, once, and
nowhere else. The app factory asks it for the endpoint objects and binds their routes."""

import operator
from collections.abc import Iterator

import orjson
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
from kv_api.application.users.quota import (
    CountNearQuotaHandler,
    SetQuotaHandler,
    ShowQuotaHandler,
)
from kv_api.application.users.register import RegisterUserHandler
from kv_api.application.users.registration_limit import RegistrationLimit
from kv_api.application.users.reset_password import ResetPasswordHandler
from kv_api.domain.changes import WatchLimits, stored_bound
from kv_api.domain.keys import BatchLimits
from kv_api.domain.quotas import QuotaPolicy
from kv_api.domain.users import PasswordPolicy
from kv_api.infrastructure.clock import SystemClock
from kv_api.infrastructure.codec import MsgpackBatchEncoder
from kv_api.infrastructure.security.hasher import Argon2PasswordHasher
from kv_api.infrastructure.security.tokens import JwtTokenIssuer, load_or_create_secret
from kv_api.infrastructure.security.verifier import RememberedTokens
from kv_api.infrastructure.settings import Settings
from kv_api.infrastructure.tarantool.changes import TarantoolChangeFeed
from kv_api.infrastructure.tarantool.kv import TarantoolKeyValueRepository
from kv_api.infrastructure.tarantool.quotas import TarantoolQuotaRepository
from kv_api.infrastructure.tarantool.sessions import (
    TarantoolAttemptCounter,
    TarantoolTokenRevocations,
)
from kv_api.infrastructure.tarantool.storage import Storage
from kv_api.infrastructure.tarantool.users import TarantoolUserRepository
from kv_api.presentation.housekeeping import Gauges, build_housekeeping
from kv_api.presentation.http.auth import Authenticator
from kv_api.presentation.http.inflight import InFlightRequests
from kv_api.presentation.http.metrics import Metrics
from kv_api.presentation.http.user_share import UserShare
from kv_api.presentation.openapi import build_openapi
from kv_api.presentation.routes import table
from kv_api.presentation.routes.accounts.endpoints import AccountEndpoints
from kv_api.presentation.routes.console.endpoints import ConsoleEndpoints
from kv_api.presentation.routes.docs import DocsEndpoints
from kv_api.presentation.routes.kv.endpoints import KeyValueEndpoints
from kv_api.presentation.routes.ops import OpsEndpoints
from kv_api.presentation.routes.users.endpoints import UserManagementEndpoints
from kv_api.presentation.routes.watch.endpoints import WatchEndpoints


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


def _document(settings: Settings) -> bytes:
    return orjson.dumps(build_openapi(settings))


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    metrics = providers.Singleton(Metrics)
    storage = providers.Singleton(Storage, settings, metrics)
    in_flight = providers.Singleton(InFlightRequests)
    user_share = providers.Singleton(UserShare, settings.provided.user_max_inflight)
    jwt_secret = providers.Singleton(
        load_or_create_secret, settings.provided.jwt_secret, settings.provided.data_dir
    )

    # rules and their limits
    limits = providers.Singleton(
        BatchLimits,
        max_items=settings.provided.max_items,
        max_value_bytes=settings.provided.max_value_bytes,
        max_depth=settings.provided.max_depth,
        min_ttl=settings.provided.min_ttl,
        max_ttl=settings.provided.max_ttl,
    )
    watch_limits = providers.Singleton(WatchLimits, max_timeout=settings.provided.watch_max_timeout)
    password_policy = providers.Singleton(
        PasswordPolicy, require_composition=settings.provided.password_composition
    )
    quota_policy = providers.Singleton(
        QuotaPolicy,
        max_keys=settings.provided.user_max_keys,
        max_bytes=settings.provided.user_max_bytes,
    )

    # adapters
    clock = providers.Singleton(SystemClock)
    encoder = providers.Singleton(MsgpackBatchEncoder, limits)
    hasher = providers.Resource(_hasher_resource, settings)
    tokens = providers.Singleton(
        JwtTokenIssuer, jwt_secret, settings.provided.jwt_issuer, settings.provided.token_ttl
    )
    verified_tokens = providers.Singleton(
        RememberedTokens, jwt_secret, settings.provided.jwt_issuer
    )
    users = providers.Singleton(TarantoolUserRepository, storage.provided.primary)
    quotas = providers.Singleton(TarantoolQuotaRepository, storage.provided.primary)
    revocations = providers.Singleton(TarantoolTokenRevocations, storage.provided.primary)
    login_attempts = providers.Singleton(
        TarantoolAttemptCounter,
        storage.provided.primary,
        settings.provided.login_max_failures,
        settings.provided.login_window,
        # its purge also drops the registration counters kept in the same space
        providers.Callable(max, settings.provided.login_window, settings.provided.register_window),
    )
    registrations = providers.Singleton(
        TarantoolAttemptCounter,
        storage.provided.primary,
        settings.provided.register_max_per_window,
        settings.provided.register_window,
    )
    kv = providers.Singleton(
        TarantoolKeyValueRepository,
        storage.provided.primary,
        storage.provided.replicas,
        settings.provided.max_response_bytes,
        settings.provided.changes_keep,
        quota_policy.provided.defaults,
    )
    # the change feed waits on its own connection (storage.watch), never on the primary's
    change_feed = providers.Singleton(
        TarantoolChangeFeed,
        storage.provided.watch,
        storage.provided.primary,
        settings.provided.max_watches,
        settings.provided.user_max_watches,
        providers.Callable(stored_bound, settings.provided.watch_max_bytes),
        metrics.provided.watches_waiting.set,
    )

    # use cases
    registration_limit = providers.Singleton(RegistrationLimit, registrations, clock)
    register_user = providers.Singleton(
        RegisterUserHandler,
        users,
        hasher,
        tokens,
        clock,
        password_policy,
        providers.Callable(operator.eq, settings.provided.registration, "open"),
    )
    ensure_user = providers.Singleton(EnsureUserHandler, users, hasher, clock, password_policy)
    remove_user = providers.Singleton(RemoveUserHandler, users)
    list_users = providers.Singleton(ListUsersHandler, users)
    reset_password = providers.Singleton(
        ResetPasswordHandler, users, hasher, clock, password_policy
    )
    login = providers.Singleton(LoginHandler, users, hasher, tokens, login_attempts, clock)
    logout = providers.Singleton(LogoutHandler, revocations)
    get_profile = providers.Singleton(GetProfileHandler, quotas, quota_policy)
    show_quota = providers.Singleton(ShowQuotaHandler, quotas, quota_policy)
    set_quota = providers.Singleton(SetQuotaHandler, quotas, quota_policy)
    count_near_quota = providers.Singleton(CountNearQuotaHandler, quotas, quota_policy)
    update_profile = providers.Singleton(
        UpdateProfileHandler, users, hasher, tokens, clock, password_policy, login_attempts
    )
    delete_account = providers.Singleton(DeleteAccountHandler, users)
    write_batch = providers.Singleton(WriteBatchHandler, kv, limits)
    read_batch = providers.Singleton(ReadBatchHandler, kv, limits)
    delete_batch = providers.Singleton(DeleteBatchHandler, kv, limits)
    list_keys = providers.Singleton(ListKeysHandler, kv, limits)
    watch_changes = providers.Singleton(WatchChangesHandler, change_feed, watch_limits, clock)

    # the HTTP side: the edge's authentication, the endpoints, the work on a timer
    authenticator = providers.Singleton(
        Authenticator, verified_tokens, providers.Callable(table.public_routes)
    )
    gauges = providers.Singleton(
        Gauges, storage, metrics, settings.provided.store_warn_percent, count_near_quota
    )
    housekeeping = providers.Singleton(
        build_housekeeping,
        kv,
        users,
        change_feed,
        revocations,
        login_attempts,
        gauges,
        metrics,
        settings.provided.changes_retention,
        settings.provided.account_purge_batch,
    )
    account_endpoints = providers.Singleton(
        AccountEndpoints,
        register_user,
        login,
        logout,
        get_profile,
        update_profile,
        delete_account,
        registration_limit,
        metrics,
    )
    endpoints = providers.List(
        account_endpoints,
        providers.Singleton(UserManagementEndpoints, account_endpoints),
        providers.Singleton(
            KeyValueEndpoints,
            write_batch,
            read_batch,
            delete_batch,
            list_keys,
            encoder,
            metrics,
            settings.provided.max_response_bytes,
        ),
        providers.Singleton(
            WatchEndpoints,
            watch_changes,
            in_flight,
            settings.provided.watch_heartbeat,
            settings.provided.watch_send_timeout,
        ),
        providers.Singleton(
            OpsEndpoints,
            storage,
            metrics,
            settings.provided.metrics_token,
            gauges.provided.refresh,
        ),
        providers.Singleton(DocsEndpoints, providers.Singleton(_document, settings)),
        providers.Singleton(ConsoleEndpoints),
    )
