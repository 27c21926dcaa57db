"""The groups of settings, each handed to the part that uses it (auth assembly gets `AuthSettings` ...).

Every field names its environment variable, default, meaning and bounds; README's configuration table
is generated from these declarations (`python -m server config env-table`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, PrivateAttr

from server import origins
from server.config import _parse
from server.config._fields import Group, env
from server.config._parse import DEFAULT_RATE_LIMITS, ApiKeySpec, Network
from server.storage.keyring import DEV_KEYS_FILE, DataKey, KeyringError, parse_data_keys

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/wuffchat.db"
DAY = 86400.0


def _text(parse: Callable[[str], Any]) -> BeforeValidator:
    """Parse a value given as text (the environment); typed values (tests, code) are checked as they are."""
    return BeforeValidator(lambda value: parse(value) if isinstance(value, str) else value)


def _data_keys(raw: str) -> tuple[DataKey, ...]:
    try:
        return parse_data_keys(raw)
    except KeyringError as exc:
        raise ValueError(str(exc)) from None


GrpcAddr = Annotated[str, AfterValidator(_parse.grpc_addr)]
LogLevel = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], _text(str.upper)]
Limit = Annotated[str, AfterValidator(_parse.limit)]


class ServerSettings(Group):
    """The process: address, workers, logging, shutdown and periodic housekeeping."""

    grpc_addr: GrpcAddr = env("GRPC_ADDR", "127.0.0.1:50051", "host:port the gRPC server listens on (port 0: any)")
    workers: int = env(
        "WORKERS", 1, "server processes on one port; more than 1 needs REDIS_URL and SECRET_KEY", ge=1, le=64
    )
    log_level: LogLevel = env("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR (JSON lines on stdout)")
    shutdown_grace_seconds: float = env(
        "SHUTDOWN_GRACE_SECONDS", 10.0, "time in-flight calls get to finish after SIGTERM", ge=0, le=300
    )
    health_check_interval_seconds: float = env(
        "HEALTH_CHECK_INTERVAL_SECONDS", 5.0, "how often health probes the database", ge=0.05, le=300
    )
    memory_trim_interval_seconds: float = env(
        "MEMORY_TRIM_INTERVAL_SECONDS", 10.0, "how often freed memory goes back to the system (0: never)", ge=0, le=3600
    )


class EdgeSettings(Group):
    """What one call or connection may hold (server/app.py `_server_options`), and who is in front of us."""

    max_request_bytes: int = env(
        "MAX_REQUEST_BYTES", 64 * 1024, "largest request message in bytes", ge=1024, le=16 * 1024 * 1024
    )
    request_receive_timeout_seconds: float = env(
        "REQUEST_RECEIVE_TIMEOUT_SECONDS", 10.0, "time a call gets to send its request", ge=0.1, le=300
    )
    max_waiting_requests: int = env(
        "MAX_WAITING_REQUESTS", 1000, "calls waiting for a handler before new ones are refused", ge=1, le=1_000_000
    )
    max_streams_per_connection: int = env(
        "MAX_STREAMS_PER_CONNECTION", 100, "concurrent calls on one HTTP/2 connection", ge=1, le=10_000
    )
    max_connection_idle_seconds: float = env(
        "MAX_CONNECTION_IDLE_SECONDS", 900.0, "an idle connection is closed after this", ge=1, le=7 * DAY
    )
    max_connection_age_seconds: float = env(
        "MAX_CONNECTION_AGE_SECONDS", 1800.0, "any connection is closed after this", ge=1, le=7 * DAY
    )
    max_connection_age_grace_seconds: float = env(
        "MAX_CONNECTION_AGE_GRACE_SECONDS", 60.0, "time calls get to finish on an aged connection", ge=0, le=DAY
    )
    cors_origins: Annotated[tuple[str, ...], _text(lambda raw: origins.parse_origins(raw, prod=False))] = env(
        "CORS_ORIGINS", (), "origins browsers may call from, comma-separated (prod: https only, no local host)"
    )
    trusted_proxies: Annotated[tuple[Network, ...], _text(_parse.networks)] = env(
        "TRUSTED_PROXIES", (), "IPs or networks whose x-forwarded-for is believed (Envoy), comma-separated"
    )


class DatabaseSettings(Group):
    """SQLite (default) or PostgreSQL."""

    url: Annotated[str, AfterValidator(_parse.database_url)] = env(
        "DATABASE_URL", DEFAULT_DATABASE_URL, "sqlite+aiosqlite:///... or postgresql+asyncpg://...", secret=True
    )
    startup_timeout_seconds: float = env(
        "DB_STARTUP_TIMEOUT_SECONDS", 30.0, "how long start waits for the database", ge=0, le=600
    )


class EncryptionSettings(Group):
    """Encryption of personal data at rest (issue 18): the first key seals, all open."""

    keys: Annotated[tuple[DataKey, ...], _text(_data_keys)] = env(
        "DATA_KEYS", (), "id:base64key entries, first active; unset in dev: var/data-keys is made", secret=True
    )
    dev_file: str = DEV_KEYS_FILE  # not configurable: where dev keeps its generated keys


class LimitSettings(Group):
    """Rate limits per method and for failed authentications; shared through Redis when set."""

    redis_url: Annotated[str | None, AfterValidator(lambda v: v and _parse.redis_url(v))] = env(
        "REDIS_URL", None, "redis://, rediss:// or unix:// URL; unset: limits in memory (one worker)", secret=True
    )
    rate_limits: Annotated[tuple[tuple[str, str], ...], _text(_parse.rate_limits)] = env(
        "RATE_LIMITS", DEFAULT_RATE_LIMITS, "Name=n/period entries over the defaults (per RPC, and `default`)"
    )
    auth_failure_limit: Limit = env("AUTH_FAILURE_LIMIT", "20/minute", "failed authentications per client IP")


class SecretSettings(Group):
    """The key that signs tokens, CAPTCHAs and cursors; previous keys still verify (rotation)."""

    secret_key: Annotated[bytes | None, _text(_parse.secret)] = env(
        "SECRET_KEY", None, f"{_parse.MIN_SECRET_BYTES}+ bytes; unset in dev: a random key per start", secret=True
    )
    previous_secret_keys: Annotated[tuple[bytes, ...], _text(_parse.secret_list)] = env(
        "SECRET_KEY_PREVIOUS", (), "earlier SECRET_KEYs that still verify, comma-separated", secret=True
    )
    _ephemeral: bytes = PrivateAttr(default_factory=lambda: secrets.token_bytes(_parse.MIN_SECRET_BYTES))

    @property
    def key(self) -> bytes:
        """SECRET_KEY, or this process's random key when it is unset (dev)."""
        return self.secret_key if self.secret_key is not None else self._ephemeral

    @property
    def is_ephemeral(self) -> bool:
        return self.secret_key is None

    @property
    def all_keys(self) -> tuple[bytes, ...]:
        """The signing key first, then the keys that only verify."""
        return (self.key, *self.previous_secret_keys)


class TokenSettings(Group):
    """JWT access tokens and refresh tokens."""

    jwt_algorithm: Literal["HS256", "EdDSA"] = env("JWT_ALGORITHM", "HS256", "HS256 (SECRET_KEY) or EdDSA (key files)")
    jwt_private_key_pem: Annotated[bytes | None, _text(_parse.ed25519_private)] = env(
        "JWT_PRIVATE_KEY_FILE", None, "PEM file of the Ed25519 key that signs (EdDSA)", secret=True, file_variant=False
    )
    jwt_public_keys_pem: Annotated[tuple[bytes, ...], _text(_parse.ed25519_publics)] = env(
        "JWT_PUBLIC_KEY_FILES", (), "PEM files of earlier Ed25519 public keys that still verify, comma-separated"
    )
    jwt_issuer: str = env("JWT_ISSUER", "wuffchat", "`iss` of access tokens")
    jwt_audience: str = env("JWT_AUDIENCE", "wuffchat", "`aud` of access tokens")
    access_token_ttl_seconds: int = env(
        "ACCESS_TOKEN_TTL_SECONDS", 15 * 60, "access token lifetime", ge=60, le=3600, test_floor=1
    )
    refresh_token_ttl_seconds: int = env(
        "REFRESH_TOKEN_TTL_SECONDS", 30 * 86400, "absolute session lifetime", ge=300, le=90 * 86400, test_floor=1
    )
    refresh_grace_seconds: float = env(
        "REFRESH_GRACE_SECONDS", 10.0, "a used refresh token still works this long (lost answers)", ge=0, le=120
    )


class LoginSettings(Group):
    """Failed logins per account and per IP, and the lockout that follows."""

    max_failures: int = env("LOGIN_MAX_FAILURES", 5, "failures per account within the window", ge=1, le=100)
    max_failures_per_ip: int = env(
        "LOGIN_MAX_FAILURES_PER_IP", 20, "failures per client IP within the window", ge=1, le=10_000
    )
    failure_window_seconds: float = env(
        "LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60.0, "window in which failures count", ge=1, le=7 * DAY
    )
    lockout_seconds: float = env("LOGIN_LOCKOUT_SECONDS", 15 * 60.0, "first lockout, doubled after", ge=1, le=DAY)
    lockout_max_seconds: float = env("LOGIN_LOCKOUT_MAX_SECONDS", DAY, "longest lockout", ge=1, le=30 * DAY)


class AuthSettings(Group):
    """Accounts and credentials: API keys, CAPTCHA, password hashing, tokens, login limits."""

    api_keys: Annotated[tuple[ApiKeySpec, ...], _text(_parse.api_keys)] = env(
        "API_KEYS", (), "name:role:key entries (role service or admin), comma-separated", secret=True
    )
    captcha_max_number: int = env(
        "CAPTCHA_MAX_NUMBER", 100_000, "CAPTCHA difficulty (proof-of-work range)", ge=10, le=100_000_000
    )
    captcha_ttl_seconds: int = env("CAPTCHA_TTL_SECONDS", 300, "CAPTCHA lifetime", ge=1, le=3600)
    argon2_time_cost: int = env("ARGON2_TIME_COST", 3, "Argon2id passes (prod: 3+)", ge=1, le=20)
    argon2_memory_kib: int = env(
        "ARGON2_MEMORY_KIB", 64 * 1024, "Argon2id memory in KiB (prod: 65536+)", ge=8 * 1024, le=4 * 1024 * 1024
    )
    argon2_parallelism: int = env("ARGON2_PARALLELISM", 4, "Argon2id lanes", ge=1, le=16)
    password_hash_workers: int = env("PASSWORD_HASH_WORKERS", 2, "processes that hash passwords", ge=1, le=64)
    tokens: TokenSettings = TokenSettings()
    login: LoginSettings = LoginSettings()


class RetentionSettings(Group):
    """How long data is kept (SPEC.md section 11), enforced by server/retention.py."""

    conversation_days: int = env("RETENTION_CONVERSATION_DAYS", 180, "conversations and messages", ge=1, le=3650)
    contact_days: int = env("RETENTION_CONTACT_DAYS", 90, "feedback contact data", ge=1, le=3650)
    audit_days: int = env("RETENTION_AUDIT_DAYS", 365, "audit events", ge=1, le=3650)
    interval_seconds: float = env(
        "RETENTION_INTERVAL_SECONDS", 3600.0, "how often the retention job runs", ge=0.05, le=7 * DAY
    )


class KnowledgeSettings(Group):
    """The knowledge base and the retriever (embedded, or Weaviate when WEAVIATE_URL is set)."""

    dir: Annotated[str, AfterValidator(_parse.directory)] = env(
        "KNOWLEDGE_DIR", "data/knowledge", "the knowledge base (YAML)"
    )
    overlay_dir: str = env("KNOWLEDGE_OVERLAY_DIR", "var/knowledge", "admin upserts, over the knowledge base")
    cache_dir: str = env("CACHE_DIR", "var/cache", "embedding cache")
    weaviate_url: Annotated[str | None, AfterValidator(lambda v: v and _parse.weaviate_url(v))] = env(
        "WEAVIATE_URL", None, "http[s]://host[:port] of Weaviate; unset: the embedded retriever"
    )
    weaviate_grpc_port: int = env("WEAVIATE_GRPC_PORT", 50051, "Weaviate's gRPC port", ge=1, le=65535)


class ConversationSettings(Group):
    """Conversation state in memory."""

    ttl_seconds: float = env("CONVERSATION_TTL_SECONDS", 1800.0, "idle expiry of a conversation", ge=1, le=DAY)
    sweep_interval_seconds: float = env(
        "SWEEP_INTERVAL_SECONDS", 300.0, "how often expired state is purged", ge=0.05, le=DAY
    )


class OpenAISettings(Group):
    """The OpenAI responder; unset OPENAI_API_KEY means the offline responder."""

    api_key: str | None = env("OPENAI_API_KEY", None, "unset: the offline responder", secret=True)
    model: str = env("OPENAI_MODEL", "gpt-4o-mini", "chat model")
    base_url: Annotated[str | None, AfterValidator(lambda v: v and _parse.http_url(v))] = env(
        "OPENAI_BASE_URL", None, "another endpoint of the Chat Completions protocol"
    )
    timeout_seconds: float = env("OPENAI_TIMEOUT_SECONDS", 15.0, "then the offline text is used", ge=0.1, le=120)
