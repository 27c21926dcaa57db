"""Read and validate the environment once, at start; everything else receives typed settings.

A bad value raises `ConfigError` with a one-line message naming the variable; `python -m server`
turns it into exit code 2.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import limits
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from wuffchat.auth.v1 import auth_service_pb2
from wuffchat.conversation.v1 import conversation_service_pb2
from wuffchat.knowledge.v1 import knowledge_service_pb2

T = TypeVar("T")

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/wuffchat.db"
SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

# Per-method rate limits (SPEC.md section 4); `default` covers every other method of our services.
# `RATE_LIMITS="Login=10/minute,default=120/minute"` overrides single entries.
DEFAULT_RATE_LIMITS: tuple[tuple[str, str], ...] = (
    ("StartConversation", "10/minute"),
    ("SendMessage", "30/minute"),
    ("StreamMessage", "30/minute"),
    ("Login", "5/minute"),
    ("Register", "3/minute"),
    ("GetCaptcha", "20/minute"),
    ("default", "60/minute"),
)


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message is one line for the console."""


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
    rate_limits: tuple[tuple[str, str], ...] = DEFAULT_RATE_LIMITS

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


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip() for o in raw.split(",") if o.strip())
    for origin in origins:
        if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
            raise ConfigError(f"CORS_ORIGINS entries must look like https://host[:port], got {origin!r}")
    return origins


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


def _rpc_names() -> frozenset[str]:
    services = (
        auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"],
        conversation_service_pb2.DESCRIPTOR.services_by_name["ConversationService"],
        knowledge_service_pb2.DESCRIPTOR.services_by_name["KnowledgeService"],
    )
    return frozenset(method.name for service in services for method in service.methods)


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


def _get(env: Mapping[str, str], name: str, parse: Callable[[str], T], default: T) -> T:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return parse(raw.strip())


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
        workers=_get(env, "WORKERS", lambda v: _int("WORKERS", v, low=1, high=64), d.workers),
        shutdown_grace_seconds=_get(
            env, "SHUTDOWN_GRACE_SECONDS", lambda v: _float("SHUTDOWN_GRACE_SECONDS", v, low=0, high=300), 10.0
        ),
        db_startup_timeout_seconds=_get(
            env, "DB_STARTUP_TIMEOUT_SECONDS", lambda v: _float("DB_STARTUP_TIMEOUT_SECONDS", v, low=0, high=600), 30.0
        ),
        health_check_interval_seconds=_get(
            env,
            "HEALTH_CHECK_INTERVAL_SECONDS",
            lambda v: _float("HEALTH_CHECK_INTERVAL_SECONDS", v, low=0.05, high=300),
            5.0,
        ),
        max_request_bytes=_get(
            env, "MAX_REQUEST_BYTES", lambda v: _int("MAX_REQUEST_BYTES", v, low=1024, high=16 * 1024 * 1024), 65536
        ),
        cors_origins=_get(env, "CORS_ORIGINS", _origins, d.cors_origins),
        trusted_proxies=_get(env, "TRUSTED_PROXIES", _networks, d.trusted_proxies),
        knowledge_dir=_get(env, "KNOWLEDGE_DIR", _directory("KNOWLEDGE_DIR"), d.knowledge_dir),
        knowledge_overlay_dir=_get(env, "KNOWLEDGE_OVERLAY_DIR", str, d.knowledge_overlay_dir),
        cache_dir=_get(env, "CACHE_DIR", str, d.cache_dir),
        conversation_ttl_seconds=_get(
            env, "CONVERSATION_TTL_SECONDS", lambda v: _float("CONVERSATION_TTL_SECONDS", v, low=1, high=86400), 1800.0
        ),
        sweep_interval_seconds=_get(
            env, "SWEEP_INTERVAL_SECONDS", lambda v: _float("SWEEP_INTERVAL_SECONDS", v, low=0.05, high=86400), 300.0
        ),
        openai_api_key=_get(env, "OPENAI_API_KEY", str, d.openai_api_key),
        openai_model=_get(env, "OPENAI_MODEL", str, d.openai_model),
        openai_base_url=_get(env, "OPENAI_BASE_URL", _http_url("OPENAI_BASE_URL"), d.openai_base_url),
        openai_timeout_seconds=_get(
            env, "OPENAI_TIMEOUT_SECONDS", lambda v: _float("OPENAI_TIMEOUT_SECONDS", v, low=0.1, high=120), 15.0
        ),
        rate_limits=_get(env, "RATE_LIMITS", _rate_limits, d.rate_limits),
    )
    if settings.workers > 1 and settings.redis_url is None:
        raise ConfigError("WORKERS > 1 needs REDIS_URL (rate limits must be shared between processes)")
    if settings.is_prod and any("localhost" in o or "127.0.0.1" in o for o in settings.cors_origins):
        raise ConfigError("CORS_ORIGINS must not contain localhost origins when APP_ENV=prod")
    return settings
