"""Read and validate the environment once, at start; everything else receives typed settings.

A bad value raises `ConfigError` with a one-line message naming the variable; `python -m server`
turns it into exit code 2.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import limits
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from interceptors.policy import POLICIES
from server import origins, secret_strength
from server.storage.keyring import DEV_KEYS_FILE, DataKey, KeyringError, parse_data_keys

T = TypeVar("T")

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/wuffchat.db"
SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
JWT_ALGORITHMS = ("HS256", "EdDSA")
API_KEY_ROLES = ("service", "admin")
MIN_SECRET_BYTES = secret_strength.MIN_BYTES
MIN_PROD_API_KEY_CHARS = 32
GOOD_KEY_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
DATA_KEY_HINT = "python -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())'"
API_KEY_NAME = re.compile(r"^[A-Za-z0-9._-]{1,60}$")  # becomes part of the principal id (owner keys, audit)

# Per-method rate limits (SPEC.md section 4): each RPC's `rate_limit` in its method policy (protos/),
# `default` for every other method of our services.
# `RATE_LIMITS="Login=10/minute,default=120/minute"` overrides single entries.
DEFAULT_RATE_LIMIT = "60/minute"
DEFAULT_RATE_LIMITS: tuple[tuple[str, str], ...] = (
    *((found.name, found.rate_limit) for found in POLICIES.values() if found.rate_limit is not None),
    ("default", DEFAULT_RATE_LIMIT),
)


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message is one line for the console."""


@dataclass(frozen=True)
class ApiKeySpec:
    """One `name:role:key` entry of `API_KEYS`."""

    name: str
    role: str
    key: str = field(repr=False)


@dataclass(frozen=True)
class Settings:
    """Typed configuration, built by `load_settings`."""

    app_env: str = "dev"
    grpc_addr: str = "127.0.0.1:50051"
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    log_level: str = "INFO"
    workers: int = 1
    shutdown_grace_seconds: float = 10.0
    db_startup_timeout_seconds: float = 30.0
    health_check_interval_seconds: float = 5.0
    max_request_bytes: int = 64 * 1024
    # bounds on what half-sent or idle calls and connections can hold (server/app.py `_server_options`)
    request_receive_timeout_seconds: float = 10.0
    max_waiting_requests: int = 1000
    max_streams_per_connection: int = 100
    max_connection_idle_seconds: float = 900.0
    max_connection_age_seconds: float = 1800.0
    max_connection_age_grace_seconds: float = 60.0
    memory_trim_interval_seconds: float = 10.0
    cors_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default_factory=tuple)
    knowledge_dir: str = "data/knowledge"
    knowledge_overlay_dir: str = "var/knowledge"
    cache_dir: str = "var/cache"
    conversation_ttl_seconds: float = 1800.0
    sweep_interval_seconds: float = 300.0
    openai_api_key: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str | None = None
    openai_timeout_seconds: float = 15.0
    # the Weaviate retrieval backend (SPEC.md section 7): unset means the embedded retriever
    weaviate_url: str | None = None
    weaviate_grpc_port: int = 50051
    rate_limits: tuple[tuple[str, str], ...] = DEFAULT_RATE_LIMITS
    auth_failure_limit: str = "20/minute"  # failed authentications per client IP (interceptors/auth_failures.py)
    # retention (SPEC.md section 10), enforced by server/retention.py
    retention_conversation_days: int = 180
    retention_contact_days: int = 90
    retention_audit_days: int = 365
    retention_interval_seconds: float = 3600.0
    # authentication (issue 3); secrets never appear in repr()
    secret_key: bytes = field(default=b"", repr=False)  # load_settings makes a random one in dev when unset
    secret_key_is_ephemeral: bool = False
    previous_secret_keys: tuple[bytes, ...] = field(default=(), repr=False)
    jwt_algorithm: str = "HS256"
    jwt_private_key_pem: bytes | None = field(default=None, repr=False)
    jwt_public_keys_pem: tuple[bytes, ...] = ()
    jwt_issuer: str = "wuffchat"
    jwt_audience: str = "wuffchat"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    refresh_grace_seconds: float = 10.0
    api_keys: tuple[ApiKeySpec, ...] = ()
    captcha_max_number: int = 100_000
    captcha_ttl_seconds: int = 300
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 64 * 1024
    argon2_parallelism: int = 4
    password_hash_workers: int = 2
    login_max_failures: int = 5
    login_max_failures_per_ip: int = 20
    login_failure_window_seconds: float = 15 * 60
    login_lockout_seconds: float = 15 * 60
    login_lockout_max_seconds: float = 24 * 3600
    # encryption at rest (issue 18): the first key is active; none configured in dev means DEV_KEYS_FILE
    data_keys: tuple[DataKey, ...] = field(default=(), repr=False)
    data_keys_dev_file: str = DEV_KEYS_FILE

    @property
    def is_prod(self) -> bool:
        return self.app_env == "prod"


def _int(name: str, raw: str, *, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _float(name: str, raw: str, *, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value:g}")
    return value


def _choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _grpc_addr(raw: str) -> str:
    host, sep, port = raw.rpartition(":")
    if not sep or not host:
        raise ConfigError(f"GRPC_ADDR must be host:port, got {raw!r}")
    _int("GRPC_ADDR port", port, low=0, high=65535)
    return raw


def _database_url(raw: str) -> str:
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError("DATABASE_URL is not a valid SQLAlchemy URL") from None
    if url.drivername not in SUPPORTED_DRIVERS:
        raise ConfigError(f"DATABASE_URL driver must be one of {', '.join(SUPPORTED_DRIVERS)}, got {url.drivername!r}")
    return raw


def _redis_url(raw: str) -> str:
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("REDIS_URL must start with redis://, rediss:// or unix://")
    return raw


def _cors_origins(env: Mapping[str, str]) -> tuple[str, ...]:
    try:
        return origins.parse_origins(env.get("CORS_ORIGINS", ""), prod=env.get("APP_ENV", "").strip() == "prod")
    except origins.OriginError as err:
        raise ConfigError(str(err)) from None


def _networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(f"TRUSTED_PROXIES entries must be IPs or CIDR networks, got {part!r}") from None
    return tuple(networks)


def _directory(name: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not Path(raw).is_dir():
            raise ConfigError(f"{name} must be an existing directory, got {raw!r}")
        return raw

    return parse


def _http_url(name: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not raw.startswith(("http://", "https://")):
            raise ConfigError(f"{name} must start with http:// or https://")
        return raw

    return parse


def _weaviate_url(raw: str) -> str:
    url = urlsplit(raw)
    try:
        port = url.port
    except ValueError:
        raise ConfigError(f"WEAVIATE_URL has an invalid port: {raw!r}") from None
    if url.scheme not in ("http", "https") or not url.hostname or url.path not in ("", "/") or port == 0:
        raise ConfigError(f"WEAVIATE_URL must look like http[s]://host[:port], got {raw!r}")
    return raw


def _rpc_names() -> frozenset[str]:
    return frozenset(found.name for found in POLICIES.values())


def _limit(name: str, raw: str) -> str:
    try:
        amount = limits.parse(raw).amount
    except ValueError:
        raise ConfigError(f"{name} must look like 20/minute, got {raw!r}") from None
    if amount < 1:
        raise ConfigError(f"{name} must allow at least 1, got {raw!r}")
    return raw


def _rate_limits(raw: str) -> tuple[tuple[str, str], ...]:
    known = _rpc_names() | {"default"}
    merged = dict(DEFAULT_RATE_LIMITS)
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        name, sep, value = (part.strip() for part in entry.partition("="))
        if not sep or name not in known:
            raise ConfigError(f"RATE_LIMITS entries must be <RpcName or default>=<n>/<period>, got {entry!r}")
        try:
            item = limits.parse(value)
        except ValueError:
            raise ConfigError(f"RATE_LIMITS value for {name} must look like 5/minute, got {value!r}") from None
        if item.amount < 1:
            raise ConfigError(f"RATE_LIMITS value for {name} must allow at least 1 call, got {value!r}")
        merged[name] = value
    return tuple(merged.items())


def _secret(name: str, raw: str) -> bytes:
    value = raw.encode()
    if len(value) < MIN_SECRET_BYTES:
        raise ConfigError(f"{name} must be at least {MIN_SECRET_BYTES} bytes long")
    return value


def _secrets(name: str, raw: str) -> tuple[bytes, ...]:
    return tuple(_secret(name, part.strip()) for part in raw.split(",") if part.strip())


def _read(name: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        raise ConfigError(f"{name}: cannot read {path!r}") from None


def _ed25519_private(raw: str) -> bytes:
    pem = _read("JWT_PRIVATE_KEY_FILE", raw)
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ConfigError("JWT_PRIVATE_KEY_FILE is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError("JWT_PRIVATE_KEY_FILE must hold an Ed25519 key (EdDSA)")
    return pem


def _ed25519_publics(raw: str) -> tuple[bytes, ...]:
    pems = []
    for path in (p.strip() for p in raw.split(",") if p.strip()):
        pem = _read("JWT_PUBLIC_KEY_FILES", path)
        try:
            key = load_pem_public_key(pem)
        except ValueError:
            raise ConfigError(f"JWT_PUBLIC_KEY_FILES: {path!r} is not a PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ConfigError(f"JWT_PUBLIC_KEY_FILES: {path!r} is not an Ed25519 key")
        pems.append(pem)
    return tuple(pems)


def _api_keys(raw: str) -> tuple[ApiKeySpec, ...]:
    specs: list[ApiKeySpec] = []
    for index, entry in enumerate(e.strip() for e in raw.split(",") if e.strip()):
        name, _, rest = entry.partition(":")
        role, _, key = rest.partition(":")
        if not API_KEY_NAME.match(name) or role not in API_KEY_ROLES or len(key) < 16:
            # the entry itself is never echoed: it contains the key
            raise ConfigError(
                f"API_KEYS entry {index + 1} must be name:role:key (name: up to 60 of A-Z a-z 0-9 . _ -; "
                "role: service or admin; key: 16+ characters)"
            )
        if any(spec.name == name for spec in specs):
            raise ConfigError(f"API_KEYS names must be unique, {name!r} appears twice")
        specs.append(ApiKeySpec(name=name, role=role, key=key))
    return tuple(specs)


def _check_prod(settings: Settings) -> None:
    for _, check in _PROD_CHECKS:
        check(settings)


def weakened(settings: Settings) -> tuple[str, ...]:
    """The settings a production start would refuse, by name; a dev start records them as the audit
    event `config_weakened` (issue 18), so a weakened configuration is on the record."""
    names = []
    for name, check in _PROD_CHECKS:
        try:
            check(settings)
        except ConfigError:
            names.append(name)
    return tuple(names)


def _check_secret_key(settings: Settings) -> None:
    if settings.secret_key_is_ephemeral:
        raise ConfigError(f"SECRET_KEY is required when APP_ENV=prod; make one with {GOOD_KEY_HINT}")
    _check_strength("SECRET_KEY", settings.secret_key)


def _check_previous_keys(settings: Settings) -> None:
    for index, previous in enumerate(settings.previous_secret_keys):
        _check_strength(f"SECRET_KEY_PREVIOUS entry {index + 1}", previous)


def _check_argon2(settings: Settings) -> None:
    if settings.argon2_time_cost < 3 or settings.argon2_memory_kib < 64 * 1024:
        raise ConfigError("ARGON2_TIME_COST >= 3 and ARGON2_MEMORY_KIB >= 65536 are required when APP_ENV=prod")


def _check_api_keys(settings: Settings) -> None:
    if any(len(spec.key) < MIN_PROD_API_KEY_CHARS for spec in settings.api_keys):
        raise ConfigError(f"API_KEYS keys must have {MIN_PROD_API_KEY_CHARS}+ characters when APP_ENV=prod")
    for spec in settings.api_keys:
        _check_strength(f"API_KEYS key of {spec.name!r}", spec.key.encode())


def _check_data_keys(settings: Settings) -> None:
    hint = f"DATA_KEYS=1:<key>, make the key with {DATA_KEY_HINT}"
    if not settings.data_keys:
        raise ConfigError(f"DATA_KEYS (or DATA_KEYS_FILE) is required when APP_ENV=prod; {hint}")
    for key in settings.data_keys:
        reason = secret_strength.random_key_weakness(key.key)
        if reason is not None:
            raise ConfigError(f"DATA_KEYS key {key.id} is too weak for APP_ENV=prod ({reason}); {hint}")


def _check_strength(name: str, secret: bytes) -> None:
    """The same test for every secret that signs or verifies; the message never contains the secret."""
    reason = secret_strength.weakness(secret.decode())
    if reason is not None:
        raise ConfigError(f"{name} is too weak for APP_ENV=prod ({reason}); make one with {GOOD_KEY_HINT}")


def _check_jwt_keys(settings: Settings) -> None:
    """Ed25519 keys that sign or verify tokens: not published, not small-order, not a patterned seed."""
    if settings.jwt_private_key_pem is not None:
        key = load_pem_private_key(settings.jwt_private_key_pem, password=None)
        assert isinstance(key, Ed25519PrivateKey)  # checked by _ed25519_private
        reason = secret_strength.ed25519_seed_weakness(
            key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        ) or secret_strength.ed25519_public_weakness(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        if reason is not None:
            raise ConfigError(f"JWT_PRIVATE_KEY_FILE is not safe when APP_ENV=prod ({reason})")
    for index, pem in enumerate(settings.jwt_public_keys_pem):
        public = load_pem_public_key(pem)
        assert isinstance(public, Ed25519PublicKey)  # checked by _ed25519_publics
        reason = secret_strength.ed25519_public_weakness(public.public_bytes(Encoding.Raw, PublicFormat.Raw))
        if reason is not None:
            raise ConfigError(f"JWT_PUBLIC_KEY_FILES entry {index + 1} is not safe when APP_ENV=prod ({reason})")


# what APP_ENV=prod requires beyond valid values, in order; the name is what `weakened` reports
_PROD_CHECKS: tuple[tuple[str, Callable[[Settings], None]], ...] = (
    ("SECRET_KEY", _check_secret_key),
    ("SECRET_KEY_PREVIOUS", _check_previous_keys),
    ("JWT_KEYS", _check_jwt_keys),
    ("ARGON2", _check_argon2),
    ("API_KEYS", _check_api_keys),
    ("DATA_KEYS", _check_data_keys),
)


def _get(env: Mapping[str, str], name: str, parse: Callable[[str], T], default: T) -> T:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return parse(raw.strip())


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    return _get(env, name, lambda v: _int(name, v, low=low, high=high), default)


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    return _get(env, name, lambda v: _float(name, v, low=low, high=high), default)


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build `Settings` from environment variables.

    Raises:
        ConfigError: a value is invalid, or a production requirement is not met.
    """
    d = Settings()
    settings = Settings(
        app_env=_get(env, "APP_ENV", lambda v: _choice("APP_ENV", v, ("dev", "prod")), d.app_env),
        grpc_addr=_get(env, "GRPC_ADDR", _grpc_addr, d.grpc_addr),
        database_url=_get(env, "DATABASE_URL", _database_url, d.database_url),
        redis_url=_get(env, "REDIS_URL", _redis_url, d.redis_url),
        log_level=_get(env, "LOG_LEVEL", lambda v: _choice("LOG_LEVEL", v.upper(), LOG_LEVELS), d.log_level),
        workers=_integer(env, "WORKERS", d.workers, 1, 64),
        shutdown_grace_seconds=_number(env, "SHUTDOWN_GRACE_SECONDS", d.shutdown_grace_seconds, 0, 300),
        db_startup_timeout_seconds=_number(env, "DB_STARTUP_TIMEOUT_SECONDS", d.db_startup_timeout_seconds, 0, 600),
        health_check_interval_seconds=_number(
            env, "HEALTH_CHECK_INTERVAL_SECONDS", d.health_check_interval_seconds, 0.05, 300
        ),
        max_request_bytes=_integer(env, "MAX_REQUEST_BYTES", d.max_request_bytes, 1024, 16 * 1024 * 1024),
        request_receive_timeout_seconds=_number(
            env, "REQUEST_RECEIVE_TIMEOUT_SECONDS", d.request_receive_timeout_seconds, 0.1, 300
        ),
        max_waiting_requests=_integer(env, "MAX_WAITING_REQUESTS", d.max_waiting_requests, 1, 1_000_000),
        max_streams_per_connection=_integer(env, "MAX_STREAMS_PER_CONNECTION", d.max_streams_per_connection, 1, 10_000),
        max_connection_idle_seconds=_number(
            env, "MAX_CONNECTION_IDLE_SECONDS", d.max_connection_idle_seconds, 1, 7 * 86400
        ),
        max_connection_age_seconds=_number(
            env, "MAX_CONNECTION_AGE_SECONDS", d.max_connection_age_seconds, 1, 7 * 86400
        ),
        max_connection_age_grace_seconds=_number(
            env, "MAX_CONNECTION_AGE_GRACE_SECONDS", d.max_connection_age_grace_seconds, 0, 86400
        ),
        memory_trim_interval_seconds=_number(
            env, "MEMORY_TRIM_INTERVAL_SECONDS", d.memory_trim_interval_seconds, 0, 3600
        ),
        cors_origins=_cors_origins(env),
        trusted_proxies=_get(env, "TRUSTED_PROXIES", _networks, d.trusted_proxies),
        knowledge_dir=_get(env, "KNOWLEDGE_DIR", _directory("KNOWLEDGE_DIR"), d.knowledge_dir),
        knowledge_overlay_dir=_get(env, "KNOWLEDGE_OVERLAY_DIR", str, d.knowledge_overlay_dir),
        cache_dir=_get(env, "CACHE_DIR", str, d.cache_dir),
        conversation_ttl_seconds=_number(env, "CONVERSATION_TTL_SECONDS", d.conversation_ttl_seconds, 1, 86400),
        sweep_interval_seconds=_number(env, "SWEEP_INTERVAL_SECONDS", d.sweep_interval_seconds, 0.05, 86400),
        openai_api_key=_get(env, "OPENAI_API_KEY", str, d.openai_api_key),
        openai_model=_get(env, "OPENAI_MODEL", str, d.openai_model),
        openai_base_url=_get(env, "OPENAI_BASE_URL", _http_url("OPENAI_BASE_URL"), d.openai_base_url),
        openai_timeout_seconds=_number(env, "OPENAI_TIMEOUT_SECONDS", d.openai_timeout_seconds, 0.1, 120),
        weaviate_url=_get(env, "WEAVIATE_URL", _weaviate_url, d.weaviate_url),
        weaviate_grpc_port=_integer(env, "WEAVIATE_GRPC_PORT", d.weaviate_grpc_port, 1, 65535),
        rate_limits=_get(env, "RATE_LIMITS", _rate_limits, d.rate_limits),
        auth_failure_limit=_get(
            env, "AUTH_FAILURE_LIMIT", lambda v: _limit("AUTH_FAILURE_LIMIT", v), d.auth_failure_limit
        ),
        retention_conversation_days=_integer(
            env, "RETENTION_CONVERSATION_DAYS", d.retention_conversation_days, 1, 3650
        ),
        retention_contact_days=_integer(env, "RETENTION_CONTACT_DAYS", d.retention_contact_days, 1, 3650),
        retention_audit_days=_integer(env, "RETENTION_AUDIT_DAYS", d.retention_audit_days, 1, 3650),
        retention_interval_seconds=_number(
            env, "RETENTION_INTERVAL_SECONDS", d.retention_interval_seconds, 0.05, 7 * 86400
        ),
    )
    settings = _with_auth(env, settings)
    settings = replace(settings, data_keys=_data_keys(env))
    if settings.workers > 1 and settings.redis_url is None:
        raise ConfigError("WORKERS > 1 needs REDIS_URL (rate limits must be shared between processes)")
    if settings.workers > 1 and settings.secret_key_is_ephemeral:
        raise ConfigError("WORKERS > 1 needs SECRET_KEY (every process must sign and check with the same key)")
    if settings.jwt_algorithm == "EdDSA" and settings.jwt_private_key_pem is None:
        raise ConfigError("JWT_ALGORITHM=EdDSA needs JWT_PRIVATE_KEY_FILE (an Ed25519 PEM key)")
    if settings.is_prod:
        _check_prod(settings)
    return settings


def _data_keys(env: Mapping[str, str]) -> tuple[DataKey, ...]:
    """DATA_KEYS (`id:base64key,...`, first active) or DATA_KEYS_FILE (the same, commas or lines)."""
    try:
        if env.get("DATA_KEYS", "").strip():
            if env.get("DATA_KEYS_FILE", "").strip():
                raise ConfigError("set DATA_KEYS or DATA_KEYS_FILE, not both")
            return parse_data_keys(env["DATA_KEYS"])
        if path := env.get("DATA_KEYS_FILE", "").strip():
            return parse_data_keys(_read("DATA_KEYS_FILE", path).decode(errors="replace"), source="DATA_KEYS_FILE")
    except KeyringError as exc:
        raise ConfigError(str(exc)) from None
    return ()


def _with_auth(env: Mapping[str, str], d: Settings) -> Settings:
    """`d` with the authentication settings (SECRET_KEY, JWT, API keys, CAPTCHA, Argon2, lockout)."""
    secret = _get(env, "SECRET_KEY", lambda v: _secret("SECRET_KEY", v), None)

    return replace(
        d,
        secret_key=secret if secret is not None else secrets.token_bytes(MIN_SECRET_BYTES),
        secret_key_is_ephemeral=secret is None,
        previous_secret_keys=_get(
            env, "SECRET_KEY_PREVIOUS", lambda v: _secrets("SECRET_KEY_PREVIOUS", v), d.previous_secret_keys
        ),
        jwt_algorithm=_get(env, "JWT_ALGORITHM", lambda v: _choice("JWT_ALGORITHM", v, JWT_ALGORITHMS), "HS256"),
        jwt_private_key_pem=_get(env, "JWT_PRIVATE_KEY_FILE", _ed25519_private, d.jwt_private_key_pem),
        jwt_public_keys_pem=_get(env, "JWT_PUBLIC_KEY_FILES", _ed25519_publics, d.jwt_public_keys_pem),
        jwt_issuer=_get(env, "JWT_ISSUER", str, d.jwt_issuer),
        jwt_audience=_get(env, "JWT_AUDIENCE", str, d.jwt_audience),
        access_token_ttl_seconds=_integer(env, "ACCESS_TOKEN_TTL_SECONDS", d.access_token_ttl_seconds, 60, 3600),
        refresh_token_ttl_seconds=_integer(
            env, "REFRESH_TOKEN_TTL_SECONDS", d.refresh_token_ttl_seconds, 300, 90 * 86400
        ),
        refresh_grace_seconds=_number(env, "REFRESH_GRACE_SECONDS", d.refresh_grace_seconds, 0, 120),
        api_keys=_get(env, "API_KEYS", _api_keys, d.api_keys),
        captcha_max_number=_integer(env, "CAPTCHA_MAX_NUMBER", d.captcha_max_number, 10, 100_000_000),
        captcha_ttl_seconds=_integer(env, "CAPTCHA_TTL_SECONDS", d.captcha_ttl_seconds, 1, 3600),
        argon2_time_cost=_integer(env, "ARGON2_TIME_COST", d.argon2_time_cost, 1, 20),
        argon2_memory_kib=_integer(env, "ARGON2_MEMORY_KIB", d.argon2_memory_kib, 8 * 1024, 4 * 1024 * 1024),
        argon2_parallelism=_integer(env, "ARGON2_PARALLELISM", d.argon2_parallelism, 1, 16),
        password_hash_workers=_integer(env, "PASSWORD_HASH_WORKERS", d.password_hash_workers, 1, 64),
        login_max_failures=_integer(env, "LOGIN_MAX_FAILURES", d.login_max_failures, 1, 100),
        login_max_failures_per_ip=_integer(env, "LOGIN_MAX_FAILURES_PER_IP", d.login_max_failures_per_ip, 1, 10_000),
        login_failure_window_seconds=_number(
            env, "LOGIN_FAILURE_WINDOW_SECONDS", d.login_failure_window_seconds, 1, 7 * 86400
        ),
        login_lockout_seconds=_number(env, "LOGIN_LOCKOUT_SECONDS", d.login_lockout_seconds, 1, 86400),
        login_lockout_max_seconds=_number(env, "LOGIN_LOCKOUT_MAX_SECONDS", d.login_lockout_max_seconds, 1, 30 * 86400),
    )
