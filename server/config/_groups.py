"""The groups of settings, each handed to the part that uses it (the auth groups are in `_auth.py`).

Every field names its environment variable, default, meaning and bounds; README's configuration table
is generated from these declarations (`python -m server config env-table`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator

from server import origins
from server.config import _parse
from server.config._fields import DAY, Group, env, from_text
from server.config._parse import DEFAULT_RATE_LIMITS, Network

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/wuffchat.db"


GrpcAddr = Annotated[str, AfterValidator(_parse.grpc_addr)]
LogLevel = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], from_text(str.upper)]
Limit = Annotated[str, AfterValidator(_parse.limit)]


class ServerSettings(Group):
    """The process: address, workers, logging, shutdown and periodic housekeeping."""

    grpc_addr: GrpcAddr = env("GRPC_ADDR", "127.0.0.1:50051", "listen address (`host:port`, port 0 picks a free one)")
    health_addr: Annotated[str | None, AfterValidator(lambda v: v and _parse.grpc_addr(v))] = env(
        "HEALTH_ADDR",
        None,
        (
            "`host:port` of a plaintext port that serves only `grpc.health.v1.Health` (the same status as "
            "`GRPC_ADDR`'s), for probes that cannot speak TLS (Kubernetes' gRPC probes); unset: none"
        ),
    )
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
    tls_cert_file: Annotated[str | None, AfterValidator(lambda v: v and _parse.readable_file(v))] = env(
        "GRPC_TLS_CERT_FILE",
        None,
        "PEM certificate chain for TLS on the gRPC port, with `GRPC_TLS_KEY_FILE` (unset: plaintext)",
    )
    tls_key_file: Annotated[str | None, AfterValidator(lambda v: v and _parse.readable_file(v))] = env(
        "GRPC_TLS_KEY_FILE", None, "PEM private key of `GRPC_TLS_CERT_FILE`"
    )
    tls_client_ca_file: Annotated[str | None, AfterValidator(lambda v: v and _parse.readable_file(v))] = env(
        "GRPC_TLS_CLIENT_CA_FILE",
        None,
        "PEM CA bundle: with it every caller must present a client certificate it signed (mutual TLS)",
    )
    log_level: LogLevel = env("LOG_LEVEL", "INFO", "`DEBUG`, `INFO`, `WARNING`, `ERROR`")
    shutdown_grace_seconds: float = env(
        "SHUTDOWN_GRACE_SECONDS", 10.0, "how long in-flight calls may finish after SIGTERM", ge=0, le=300
    )
    shutdown_drain_seconds: float = env(
        "SHUTDOWN_DRAIN_SECONDS",
        0.0,
        (
            "after SIGTERM, how long health says NOT_SERVING while calls are still accepted, before new calls are "
            "refused and the grace period starts; behind a load balancer longer than its health-check interval "
            "plus timeout (`make fleet`: 2.5 s)"
        ),
        ge=0,
        le=300,
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
    cors_origins: Annotated[tuple[str, ...], from_text(lambda raw: origins.parse_origins(raw, prod=False))] = env(
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
    trusted_proxies: Annotated[tuple[Network, ...], from_text(_parse.networks)] = env(
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
        (
            "`sqlite+aiosqlite:///path` or `postgresql+asyncpg://user:pw@host:5432/db`; TLS to PostgreSQL with "
            "`?sslmode=verify-full&sslrootcert=/path/ca.pem` (`disable`, `prefer` (unset), `require`, `verify-ca`, "
            "`verify-full`; `sslcert`/`sslkey` for a client certificate); prod needs `verify-full` for a "
            "database on another host"
        ),
        secret=True,
    )
    startup_timeout_seconds: float = env(
        "DB_STARTUP_TIMEOUT_SECONDS",
        30.0,
        "how long start-up retries an unreachable database (backoff 0.2 s doubling to 5 s)",
        ge=0,
        le=600,
    )
    pool_size: int = env(
        "DB_POOL_SIZE",
        10,
        (
            "PostgreSQL connections each process keeps open; a fleet needs N instances x (this + "
            "`DB_MAX_OVERFLOW`) below the server's `max_connections`"
        ),
        ge=1,
        le=500,
    )
    max_overflow: int = env(
        "DB_MAX_OVERFLOW",
        10,
        "PostgreSQL connections opened beyond the pool under load, closed again after",
        ge=0,
        le=500,
    )
    pool_timeout_seconds: float = env(
        "DB_POOL_TIMEOUT_SECONDS",
        5.0,
        "how long a call waits for a free PostgreSQL connection before it ends UNAVAILABLE",
        ge=0.1,
        le=300,
    )
    connect_timeout_seconds: float = env(
        "DB_CONNECT_TIMEOUT_SECONDS", 3.0, "how long opening one PostgreSQL connection may take", ge=0.1, le=300
    )
    statement_timeout_seconds: float = env(
        "DB_STATEMENT_TIMEOUT_SECONDS",
        30.0,
        (
            "PostgreSQL cancels a statement running longer (`statement_timeout`; the call ends UNAVAILABLE); "
            "`0` turns it off; migrations run without it"
        ),
        ge=0,
        le=3600,
    )


class LimitSettings(Group):
    """Rate limits per method and for failed authentications; shared through Redis when set."""

    redis_url: Annotated[str | None, AfterValidator(lambda v: v and _parse.redis_url(v))] = env(
        "REDIS_URL",
        None,
        ("`redis://`, `rediss://` or `unix://` URL for shared rate limits (unset: in memory, one worker)"),
        secret=True,
    )
    rate_limits: Annotated[tuple[tuple[str, str], ...], from_text(_parse.rate_limits)] = env(
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
    weaviate_timeout_seconds: float = env(
        "WEAVIATE_TIMEOUT_SECONDS",
        5.0,
        ("time budget of one Weaviate call (a search past it ends UNAVAILABLE; inserts get three times as long)"),
        ge=0.1,
        le=120,
    )


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


TracesExporter = Literal["none", "otlp", "console"]


class ObservabilitySettings(Group):
    """Prometheus metrics and OpenTelemetry traces (README "Metrics", "Traces"); both off by default."""

    metrics_addr: Annotated[str | None, AfterValidator(lambda v: v and _parse.grpc_addr(v))] = env(
        "METRICS_ADDR",
        None,
        (
            "`host:port` of the Prometheus endpoint (`/metrics`, plain HTTP, keep it private); unset: no "
            "metrics; with `--workers` the parent serves the sum of all workers"
        ),
    )
    traces_exporter: Annotated[TracesExporter | None, from_text(str.lower)] = env(
        "OTEL_TRACES_EXPORTER",
        None,
        (
            "`otlp` (OTLP/gRPC to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`), "
            "`console` or `none`; unset: `otlp` when one of those endpoints is set, else tracing is off. "
            "The SDK reads the other standard `OTEL_*` variables itself (headers, certificates, sampler, "
            "resource attributes, batch sizes)"
        ),
    )
    otlp_endpoint: Annotated[str | None, AfterValidator(lambda v: v and _parse.http_url(v))] = env(
        "OTEL_EXPORTER_OTLP_ENDPOINT", None, "OTLP/gRPC collector, `http[s]://host:port`"
    )
    otlp_traces_endpoint: Annotated[str | None, AfterValidator(lambda v: v and _parse.http_url(v))] = env(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", None, "OTLP/gRPC collector for traces only (overrides the one above)"
    )
    service_name: str = env("OTEL_SERVICE_NAME", "wuffchat-server", "`service.name` of the spans")
    sdk_disabled: bool = env("OTEL_SDK_DISABLED", False, "`true` turns tracing off whatever else is set")

    @property
    def tracing(self) -> TracesExporter:
        """The exporter in effect ("none": tracing off)."""
        if self.sdk_disabled:
            return "none"
        if self.traces_exporter is not None:
            return self.traces_exporter
        return "otlp" if (self.otlp_endpoint or self.otlp_traces_endpoint) else "none"
