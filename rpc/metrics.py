"""Every Prometheus metric of the server, defined in one place (README "Metrics" lists them).

`Metrics(registry)` creates them on a registry of its own (tests run several servers in one process);
server/app.py makes one per server and hands it down: to the chain (interceptors/metrics.py counts the
standard gRPC server metrics and the refusals), to the audit sink (security events), the limiter
(Redis errors), health, retrieval, the responder and the conversation service. Nothing reads a global.

The gRPC metrics carry the names and labels of go-grpc-prometheus, which the usual dashboards expect.
Security counters that need a client IP are not labelled by IP (an attacker would pick the label
values); the IP is in the audit table and the JSON lines, the alerts work on the totals.

With `--workers N`, prometheus-client's multiprocess mode (`use_multiprocess`) is switched on in each
worker before its `Metrics` exists: values live in files of a directory the parent made, and the
parent's METRICS_ADDR serves the sum of all workers (`multiprocess_registry`).
"""

from __future__ import annotations

import os
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess, values

GRPC_LABELS: Final = ("grpc_type", "grpc_service", "grpc_method")
# go-grpc-prometheus's defaults (prometheus.DefBuckets), so existing dashboards' quantiles fit
GRPC_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RETRIEVAL_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# audit events with a counter of their own besides wuffchat_security_events_total
LOCKOUT_EVENT: Final = "authn_login_lock"
TOKEN_REUSE_EVENT: Final = "authn_token_reuse"  # noqa: S105  (an audit event name, no secret)
LOGIN_FAILURE_EVENT: Final = "authn_login_fail"
# refusal reasons (rpc.errors message keys) with a counter of their own
RATE_LIMITED: Final = "rate_limited"
CAPTCHA_INVALID: Final = "captcha_invalid"


class Metrics:
    """The metrics of one server on `registry`; see the module docstring."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        # the standard gRPC server metrics (interceptors/metrics.py)
        self.started = Counter("grpc_server_started_total", "RPCs started on the server.", GRPC_LABELS, registry=r)
        self.handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, regardless of success or failure.",
            (*GRPC_LABELS, "grpc_code"),
            registry=r,
        )
        self.handling_seconds = Histogram(
            "grpc_server_handling_seconds",
            "Response latency (seconds) of gRPC that had been application-level handled by the server.",
            GRPC_LABELS,
            buckets=GRPC_BUCKETS,
            registry=r,
        )
        self.msg_received = Counter(
            "grpc_server_msg_received_total", "RPC stream messages received on the server.", GRPC_LABELS, registry=r
        )
        self.msg_sent = Counter(
            "grpc_server_msg_sent_total", "gRPC stream messages sent on the server.", GRPC_LABELS, registry=r
        )
        # refusals: every call ended through rpc.errors.abort, by its reason
        self.refusals = Counter(
            "wuffchat_rpc_refusals_total",
            "Calls refused or ended by the server with a reason (rpc.errors message key).",
            ("grpc_service", "grpc_method", "grpc_code", "reason"),
            registry=r,
        )
        self.auth_failures = Counter(
            "wuffchat_authentication_failures_total",
            "Calls answered UNAUTHENTICATED (bad or missing token or API key, wrong password).",
            ("grpc_method", "reason"),
            registry=r,
        )
        self.rate_limited = Counter(
            "wuffchat_rate_limited_total",
            "Calls refused RESOURCE_EXHAUSTED by a rate limit or the failed-authentication budget.",
            ("grpc_service", "grpc_method"),
            registry=r,
        )
        self.captcha_failures = Counter(
            "wuffchat_captcha_failures_total",
            "Register and Login calls refused for a missing, wrong, expired or reused CAPTCHA solution.",
            ("grpc_method",),
            registry=r,
        )
        # security events: counted where they are recorded (server/audit.py, the audit sink)
        self.security_events = Counter(
            "wuffchat_security_events_total",
            "Audit events recorded (OWASP vocabulary), by event and severity.",
            ("event", "severity"),
            registry=r,
        )
        self.login_failures = Counter("wuffchat_login_failures_total", "Failed Login attempts.", registry=r)
        self.lockouts = Counter(
            "wuffchat_login_lockouts_total", "Accounts or client IPs locked out of Login.", registry=r
        )
        self.token_reuse = Counter(
            "wuffchat_token_reuse_total", "Used refresh tokens presented again (the family is revoked).", registry=r
        )
        # product
        self.conversations_started = Counter(
            "wuffchat_conversations_started_total", "Conversations started.", registry=r
        )
        self.conversations_finished = Counter(
            "wuffchat_conversations_finished_total", "Conversations that reached the end of the feedback.", registry=r
        )
        self.retrieval_seconds = Histogram(
            "wuffchat_retrieval_seconds",
            "Time of one retriever search (embedded or Weaviate).",
            ("backend",),
            buckets=RETRIEVAL_BUCKETS,
            registry=r,
        )
        self.retrieval_abstentions = Counter(
            "wuffchat_retrieval_abstentions_total",
            "Searches that returned no behaviour, by what the text was sorted as.",
            ("category",),
            registry=r,
        )
        self.responder_fallbacks = Counter(
            "wuffchat_responder_fallbacks_total",
            "OpenAI answers replaced by the offline text (timeout, error, empty answer).",
            ("mode",),
            registry=r,
        )
        # dependencies and health
        self.dependency_errors = Counter(
            "wuffchat_dependency_errors_total",
            "Failed calls to a dependency (database, redis, weaviate).",
            ("dependency",),
            registry=r,
        )
        self.dependency_up = Gauge(
            "wuffchat_dependency_up",
            "1 while the dependency answers the health probe, else 0 (only configured ones).",
            ("dependency",),
            multiprocess_mode="livemin",
            registry=r,
        )
        self.health_serving = Gauge(
            "wuffchat_health_serving",
            "1 while grpc.health.v1 says SERVING for the service ('' is the whole server), else 0.",
            ("service",),
            multiprocess_mode="livemin",
            registry=r,
        )


def use_multiprocess(directory: str) -> None:
    """Keep every metric created from now on in files under `directory` (prometheus-client's
    multiprocess mode), for a `--workers` worker; call it before the worker's `Metrics` exists."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


def multiprocess_registry(directory: str) -> CollectorRegistry:
    """A registry that reads the files of every worker under `directory` (the `--workers` parent's)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


def mark_process_dead(pid: int, directory: str) -> None:
    """Drop a stopped worker's live gauges (the parent calls it when a worker exits)."""
    multiprocess.mark_process_dead(pid, path=directory)  # type: ignore[no-untyped-call]
