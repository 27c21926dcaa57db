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

    grpc_addr: GrpcAddr = env("GRPC_ADDR", "127.0.0.1:50051", "listen address (`host:port`, port 0 picks a free one)")
    workers: int = env(
        "WORKERS",
        1,
        (
            "server processes on one port (`--workers N` overrides it); more than one needs `REDIS_URL`"
            " and `SECRET_KEY` (see Operations)"
        ),
        ge=1,
        le=64,
    )
    log_level: LogLevel = env("LOG_LEVEL", "INFO", "`DEBUG`, `INFO`, `WARNING`, `ERROR`")
    shutdown_grace_seconds: float = env(
        "SHUTDOWN_GRACE_SECONDS", 10.0, "how long in-flight calls may finish after SIGTERM", ge=0, le=300
    )
    health_check_interval_seconds: float = env(
        "HEALTH_CHECK_INTERVAL_SECONDS", 5.0, "how often health probes the database (`SELECT 1`)", ge=0.05, le=300
    )
    memory_trim_interval_seconds: float = env(
        "MEMORY_TRIM_INTERVAL_SECONDS",
        10.0,
        ("how often freed heap memory is returned to the system (glibc `malloc_trim`; `0` turns it off)"),
        ge=0,
        le=3600,
    )


class EdgeSettings(Group):
    """What one call or connection may hold (server/app.py `_server_options`), and who is in front of us."""

    max_request_bytes: int = env(
        "MAX_REQUEST_BYTES", 64 * 1024, "largest request message the server accepts", ge=1024, le=16 * 1024 * 1024
    )
    request_receive_timeout_seconds: float = env(
        "REQUEST_RECEIVE_TIMEOUT_SECONDS",
        10.0,
        (
            "a unary call's request message must arrive within this after its headers, or the call ends"
            " DEADLINE_EXCEEDED; a new connection must start HTTP/2 within it too (see Operations, "
            '"Limits")'
        ),
        ge=0.1,
        le=300,
    )
    max_waiting_requests: int = env(
        "MAX_WAITING_REQUESTS",
        1000,
        (
            "calls that may be waiting for their request message at once (per process); more are "
            "answered RESOURCE_EXHAUSTED"
        ),
        ge=1,
        le=1_000_000,
    )
    max_streams_per_connection: int = env(
        "MAX_STREAMS_PER_CONNECTION",
        100,
        (
            "concurrent HTTP/2 streams per client connection; more are refused (REFUSED_STREAM); "
            "Envoy's cluster must not use more"
        ),
        ge=1,
        le=10_000,
    )
    max_connection_idle_seconds: float = env(
        "MAX_CONNECTION_IDLE_SECONDS",
        900.0,
        "a connection without calls this long is closed (GOAWAY)",
        ge=1,
        le=7 * DAY,
    )
    max_connection_age_seconds: float = env(
        "MAX_CONNECTION_AGE_SECONDS",
        1800.0,
        "every connection is sent GOAWAY at this age (clients reconnect) ...",
        ge=1,
        le=7 * DAY,
    )
    max_connection_age_grace_seconds: float = env(
        "MAX_CONNECTION_AGE_GRACE_SECONDS",
        60.0,
        "... and closed, with whatever calls it still has, this long after",
        ge=0,
        le=DAY,
    )
    cors_origins: Annotated[tuple[str, ...], _text(lambda raw: origins.parse_origins(raw, prod=False))] = env(
        "CORS_ORIGINS",
        (),
        (
            "comma-separated origins Envoy allows for CORS, each `scheme://host[:port]` (no path, query"
            " or userinfo); required with `APP_ENV=prod`: https only, no loopback (127.0.0.0/8, `::1`, "
            "`localhost`, `*.localhost`), unspecified (`0.0.0.0`, `::`) or link-local host; in dev "
            "added to the localhost origins; `server/origins.py` checks it for both the server and "
            "`scripts/render_envoy.py`"
        ),
    )
    trusted_proxies: Annotated[tuple[Network, ...], _text(_parse.networks)] = env(
        "TRUSTED_PROXIES",
        (),
        (
            "comma-separated IPs/CIDRs whose `x-forwarded-for` is believed; behind Envoy set it to "
            "Envoy's address only (`127.0.0.1` when both run on one host)"
        ),
    )


class DatabaseSettings(Group):
    """SQLite (default) or PostgreSQL."""

    url: Annotated[str, AfterValidator(_parse.database_url)] = env(
        "DATABASE_URL",
        DEFAULT_DATABASE_URL,
        "`sqlite+aiosqlite:///path` or `postgresql+asyncpg://user:pw@host:5432/db`",
        secret=True,
    )
    startup_timeout_seconds: float = env(
        "DB_STARTUP_TIMEOUT_SECONDS",
        30.0,
        "how long start-up retries an unreachable database (backoff 0.2 s doubling to 5 s)",
        ge=0,
        le=600,
    )


class EncryptionSettings(Group):
    """Encryption of personal data at rest (issue 18): the first key seals, all open."""

    keys: Annotated[tuple[DataKey, ...], _text(_data_keys)] = env(
        "DATA_KEYS",
        (),
        (
            "comma-separated `id:key` data-encryption keys (id 1-999999, key 32 random bytes in "
            "base64); the **first is active** and seals new values, the others only open what they "
            'sealed (rotation, see "Encryption at rest"); required in prod, where each key must not be '
            "patterned or published; in a file (`DATA_KEYS_FILE`) commas or one per line, `#` comments"
        ),
        secret=True,
        shown_default="dev: `var/data-keys`, made once",
    )
    dev_file: str = DEV_KEYS_FILE  # not configurable: where dev keeps its generated keys


class LimitSettings(Group):
    """Rate limits per method and for failed authentications; shared through Redis when set."""

    redis_url: Annotated[str | None, AfterValidator(lambda v: v and _parse.redis_url(v))] = env(
        "REDIS_URL",
        None,
        ("`redis://`, `rediss://` or `unix://` URL for shared rate limits (unset: in memory, one worker)"),
        secret=True,
    )
    rate_limits: Annotated[tuple[tuple[str, str], ...], _text(_parse.rate_limits)] = env(
        "RATE_LIMITS",
        DEFAULT_RATE_LIMITS,
        (
            "overrides per RPC name over each RPC's `rate_limit` policy (SPEC.md 4), e.g. "
            "`Login=10/minute,default=120/minute`; unknown names or bad values stop the start"
        ),
    )
    auth_failure_limit: Limit = env(
        "AUTH_FAILURE_LIMIT",
        "20/minute",
        (
            "failed authentications (calls presenting a bad token or key) per client IP in a moving "
            "window; past it every call with credentials from that IP is RESOURCE_EXHAUSTED until the "
            "oldest failure ages out (Authentication)"
        ),
    )


class SecretSettings(Group):
    """The key that signs tokens, CAPTCHAs and cursors; previous keys still verify (rotation)."""

    secret_key: Annotated[bytes | None, _text(_parse.secret)] = env(
        "SECRET_KEY",
        None,
        (
            "32+ bytes; signs HS256 access tokens, CAPTCHAs and page tokens; required with `WORKERS` > "
            "1 and in prod, where it must pass the key check below"
        ),
        secret=True,
        shown_default="random per process (dev)",
    )
    previous_secret_keys: Annotated[tuple[bytes, ...], _text(_parse.secret_list)] = env(
        "SECRET_KEY_PREVIOUS",
        (),
        (
            "comma-separated older secrets that still verify tokens and CAPTCHAs (rotation); prod: each"
            " passes the same key check as `SECRET_KEY`"
        ),
        secret=True,
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

    jwt_algorithm: Literal["HS256", "EdDSA"] = env(
        "JWT_ALGORITHM", "HS256", "`HS256` or `EdDSA`; pinned, never read from a token"
    )
    jwt_private_key_pem: Annotated[bytes | None, _text(_parse.ed25519_private)] = env(
        "JWT_PRIVATE_KEY_FILE",
        None,
        ("Ed25519 PEM private key that signs (needed with `EdDSA`); prod: not published, seed not a pattern"),
        secret=True,
        file_variant=False,
    )
    jwt_public_keys_pem: Annotated[tuple[bytes, ...], _text(_parse.ed25519_publics)] = env(
        "JWT_PUBLIC_KEY_FILES",
        (),
        (
            "comma-separated Ed25519 PEM public keys that still verify (rotation); prod: not published "
            "and of large order (a small-order key such as the identity point accepts forged "
            "signatures)"
        ),
    )
    jwt_issuer: str = env("JWT_ISSUER", "wuffchat", "the `iss` every token must carry")
    jwt_audience: str = env("JWT_AUDIENCE", "wuffchat", "the `aud` every token must carry")
    access_token_ttl_seconds: int = env(
        "ACCESS_TOKEN_TTL_SECONDS", 15 * 60, "access-token lifetime", ge=60, le=3600, test_floor=1
    )
    refresh_token_ttl_seconds: int = env(
        "REFRESH_TOKEN_TTL_SECONDS",
        30 * 86400,
        "absolute session lifetime (30 days); rotation never extends it",
        ge=300,
        le=90 * 86400,
        test_floor=1,
    )
    refresh_grace_seconds: float = env(
        "REFRESH_GRACE_SECONDS",
        10.0,
        "a spent refresh token returns its unused successor again within this window",
        ge=0,
        le=120,
    )


class LoginSettings(Group):
    """Failed logins per account and per IP, and the lockout that follows."""

    max_failures: int = env(
        "LOGIN_MAX_FAILURES", 5, "failures per account within the window that lock it", ge=1, le=100
    )
    max_failures_per_ip: int = env(
        "LOGIN_MAX_FAILURES_PER_IP",
        20,
        "failures per client IP within the window that throttle that IP",
        ge=1,
        le=10_000,
    )
    failure_window_seconds: float = env(
        "LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60.0, "the counting window", ge=1, le=7 * DAY
    )
    lockout_seconds: float = env(
        "LOGIN_LOCKOUT_SECONDS",
        15 * 60.0,
        "first lock; each further lock doubles, up to `LOGIN_LOCKOUT_MAX_SECONDS`",
        ge=1,
        le=DAY,
    )
    lockout_max_seconds: float = env("LOGIN_LOCKOUT_MAX_SECONDS", DAY, "longest lock", ge=1, le=30 * DAY)


class AuthSettings(Group):
    """Accounts and credentials: API keys, CAPTCHA, password hashing, tokens, login limits."""

    api_keys: Annotated[tuple[ApiKeySpec, ...], _text(_parse.api_keys)] = env(
        "API_KEYS",
        (),
        (
            "comma-separated `name:role:key` (role `service` or `admin`); prod: keys of 32+ characters "
            "that pass the key check below"
        ),
        secret=True,
    )
    captcha_max_number: int = env(
        "CAPTCHA_MAX_NUMBER",
        100_000,
        "proof-of-work difficulty (the secret number lies in 0..max)",
        ge=10,
        le=100_000_000,
    )
    captcha_ttl_seconds: int = env("CAPTCHA_TTL_SECONDS", 300, "how long a challenge may be solved", ge=1, le=3600)
    argon2_time_cost: int = env(
        "ARGON2_TIME_COST", 3, "Argon2id passes (RFC 9106 low-memory profile); prod refuses less than 3", ge=1, le=20
    )
    argon2_memory_kib: int = env(
        "ARGON2_MEMORY_KIB",
        64 * 1024,
        "Argon2id memory in KiB; prod refuses less than 65536 (64 MiB)",
        ge=8 * 1024,
        le=4 * 1024 * 1024,
    )
    argon2_parallelism: int = env("ARGON2_PARALLELISM", 4, "Argon2id lanes", ge=1, le=16)
    password_hash_workers: int = env(
        "PASSWORD_HASH_WORKERS",
        2,
        "threads that hash passwords off the event loop (also caps their memory)",
        ge=1,
        le=64,
    )
    tokens: TokenSettings = TokenSettings()
    login: LoginSettings = LoginSettings()


class RetentionSettings(Group):
    """How long data is kept (SPEC.md section 11), enforced by server/retention.py."""

    conversation_days: int = env(
        "RETENTION_CONVERSATION_DAYS",
        180,
        "conversations (with messages and feedback) are deleted this long after their last message",
        ge=1,
        le=3650,
    )
    contact_days: int = env(
        "RETENTION_CONTACT_DAYS",
        90,
        "feedback contact data is cleared this long after it was given (the other answers stay)",
        ge=1,
        le=3650,
    )
    audit_days: int = env(
        "RETENTION_AUDIT_DAYS", 365, "audit rows older than this are pruned from the start of the chain", ge=1, le=3650
    )
    interval_seconds: float = env(
        "RETENTION_INTERVAL_SECONDS",
        3600.0,
        "how often the server runs the retention job (each worker; the deletes are idempotent)",
        ge=0.05,
        le=7 * DAY,
    )


class KnowledgeSettings(Group):
    """The knowledge base and the retriever (embedded, or Weaviate when WEAVIATE_URL is set)."""

    dir: Annotated[str, AfterValidator(_parse.directory)] = env(
        "KNOWLEDGE_DIR", "data/knowledge", "the knowledge base (validated at start; an invalid base stops the server)"
    )
    overlay_dir: str = env(
        "KNOWLEDGE_OVERLAY_DIR",
        "var/knowledge",
        "admin upserts (`behaviors/<slug>.yaml`) and deletions (`deleted.yaml`)",
    )
    cache_dir: str = env(
        "CACHE_DIR", "var/cache", "embedding cache of the knowledge base, keyed by SHA-256 of model and text"
    )
    weaviate_url: Annotated[str | None, AfterValidator(lambda v: v and _parse.weaviate_url(v))] = env(
        "WEAVIATE_URL",
        None,
        ("`http[s]://host[:port]` of a Weaviate server: retrieval runs there (load it with `make kb-load`)"),
    )
    weaviate_grpc_port: int = env("WEAVIATE_GRPC_PORT", 50051, "Weaviate's gRPC port on the same host", ge=1, le=65535)


class ConversationSettings(Group):
    """Conversation state in memory."""

    ttl_seconds: float = env(
        "CONVERSATION_TTL_SECONDS",
        1800.0,
        "idle expiry of a conversation, refreshed by each valid message",
        ge=1,
        le=DAY,
    )
    sweep_interval_seconds: float = env(
        "SWEEP_INTERVAL_SECONDS", 300.0, "how often expired conversation state is purged", ge=0.05, le=DAY
    )


class OpenAISettings(Group):
    """The OpenAI responder; unset OPENAI_API_KEY means the offline responder."""

    api_key: str | None = env(
        "OPENAI_API_KEY", None, "set: the OpenAI responder rewrites answers (offline text on any failure)", secret=True
    )
    model: str = env("OPENAI_MODEL", "gpt-4o-mini", "model for the OpenAI responder")
    base_url: Annotated[str | None, AfterValidator(lambda v: v and _parse.http_url(v))] = env(
        "OPENAI_BASE_URL", None, "another Chat Completions endpoint (tests point it at a local server)"
    )
    timeout_seconds: float = env(
        "OPENAI_TIMEOUT_SECONDS", 15.0, "time budget of one OpenAI answer or stream", ge=0.1, le=120
    )
