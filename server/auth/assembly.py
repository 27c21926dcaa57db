"""Build the auth parts from settings, once, at start: the servicer and what the interceptor needs."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from server.audit import AuditLog
from server.auth.access import AccessTokenVerifier
from server.auth.accounts import UserStore
from server.auth.api_keys import ApiKeyChecker, ApiKeyNameTakenError, ApiKeyStore
from server.auth.captcha import Captcha
from server.auth.lockout import IpThrottle, LockoutPolicy
from server.auth.login import PasswordLogin
from server.auth.passwords import PasswordHasher, PasswordPolicy
from server.auth.refresh import RefreshStore
from server.auth.service import AuthParts, AuthService
from server.auth.sessions import SessionIssuer
from server.auth.tokens import JwtCodec
from server.clock import Clock, system_clock
from server.config import AuthSettings, ConfigError, LoginSettings, SecretSettings
from server.storage.models import ApiKey

log = structlog.get_logger(__name__)

DEV_KEY_NAME = "dev"


class MissingApiKeysError(RuntimeError):
    """APP_ENV=prod without any API key."""


@dataclass(frozen=True)
class Auth:
    """The assembled auth service and the checkers the authentication interceptor uses."""

    servicer: AuthService
    token_verifier: AccessTokenVerifier
    api_key_checker: ApiKeyChecker
    hasher: PasswordHasher

    def close(self) -> None:
        self.hasher.close()


def _policy(settings: LoginSettings, max_failures: int) -> LockoutPolicy:
    return LockoutPolicy(
        max_failures=max_failures,
        window=timedelta(seconds=settings.failure_window_seconds),
        base_lock=timedelta(seconds=settings.lockout_seconds),
        max_lock=timedelta(seconds=settings.lockout_max_seconds),
    )


MISSING_PROD_KEYS = (
    "API_KEYS is required when APP_ENV=prod (or an active key from `python -m server apikey create NAME "
    "--role service`)"
)


async def check_prod_api_keys(settings: AuthSettings, engine: AsyncEngine, *, prod: bool) -> None:
    """Before migrating: in prod, refuse to start without any API key, as bad configuration.

    Only reads: a database without the `api_keys` table (never migrated) has no table key.

    Raises:
        ConfigError: APP_ENV=prod, API_KEYS empty and no active table key.
    """
    if not prod or settings.api_keys:
        return
    async with engine.connect() as connection:
        exists = await connection.run_sync(lambda sync: inspect(sync).has_table(ApiKey.__tablename__))
    if exists and await ApiKeyChecker(engine, ()).active_count() > 0:
        return
    raise ConfigError(MISSING_PROD_KEYS)


async def ensure_api_key(checker: ApiKeyChecker, store: ApiKeyStore, *, prod: bool) -> None:
    """In dev, create and print one admin key when none exists; in prod, insist on having one.

    Raises:
        MissingApiKeysError: APP_ENV=prod and neither API_KEYS nor an active table key.
    """
    if await checker.active_count() > 0:
        return
    if prod:
        raise MissingApiKeysError(MISSING_PROD_KEYS)  # keys revoked since check_prod_api_keys ran
    try:
        key = await store.create(DEV_KEY_NAME, "admin")
    except ApiKeyNameTakenError:
        # another --workers process created it a moment ago, or an operator revoked it: never a crash
        log.info("development API key exists already", name=DEV_KEY_NAME)
        return
    # stderr, once: the key is stored only as a hash and never logged
    print(f"wuffchat: generated development API key (role admin, shown only now): {key}", file=sys.stderr)


async def build_auth(
    settings: AuthSettings,
    secrets: SecretSettings,
    engine: AsyncEngine,
    audit: AuditLog,
    *,
    prod: bool,
    clock: Clock = system_clock,
) -> Auth:
    """Load the password list, make the dummy hash, and wire the auth parts together. `secrets` sign
    tokens (HS256) and CAPTCHAs; `prod` refuses to run without an API key instead of making one.

    Raises:
        MissingApiKeysError: see `ensure_api_key`.
    """
    if secrets.is_ephemeral:
        log.warning("SECRET_KEY not set: using a random key, tokens end with this process (dev only)")
    checker = ApiKeyChecker(engine, settings.api_keys, clock=clock)
    await ensure_api_key(checker, ApiKeyStore(engine, clock=clock), prod=prod)
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        workers=settings.password_hash_workers,
    )
    await hasher.start()
    codec = JwtCodec.from_settings(settings.tokens, secrets, clock=clock)
    users = UserStore(engine, clock=clock)
    refresh = RefreshStore(
        engine,
        ttl_seconds=settings.tokens.refresh_token_ttl_seconds,
        grace_seconds=settings.tokens.refresh_grace_seconds,
        clock=clock,
    )
    access = AccessTokenVerifier(codec, engine, clock=clock)
    ip_throttle = IpThrottle(engine, _policy(settings.login, settings.login.max_failures_per_ip), clock=clock)
    parts = AuthParts(
        engine=engine,
        audit=audit,
        captcha=Captcha(
            engine,
            secrets.all_keys,
            max_number=settings.captcha_max_number,
            ttl_seconds=settings.captcha_ttl_seconds,
            clock=clock,
        ),
        policy=await PasswordPolicy.load(),
        hasher=hasher,
        users=users,
        login=PasswordLogin(
            users, hasher, ip_throttle, _policy(settings.login, settings.login.max_failures), audit, clock=clock
        ),
        sessions=SessionIssuer(codec, refresh, users, clock=clock),
        refresh=refresh,
        access=access,
    )
    return Auth(servicer=AuthService(parts), token_verifier=access, api_key_checker=checker, hasher=hasher)
