"""The interceptor chain: the one place that fixes the order (SPEC.md section 5). Outermost first.

grpc.aio runs the first interceptor of the list outermost. The order, and why:

1. tracing     - (when on) the SERVER span; outermost, so every later step and log line runs inside it.
2. context     - every later step logs and keys on the request id, client IP and language it sets.
3. metrics     - (when on) inside context (it reads the refusal reason from the call state), outside
                 audit and errors, so it counts the status the client gets and times every step.
4. audit       - outside error scrubbing, so it records the status the client really gets.
5. errors      - turns any unexpected exception from below into INTERNAL with a reference.
6. auth        - establishes the principal; public methods (selector.is_public) skip it. Counts failed
                 authentications per client IP itself (auth_failures.py), before any verification:
                 the rate limit below runs only once the principal is known.
7. ratelimit   - after auth, so authenticated callers are limited per principal, not per IP.
8. authz       - role per method, needs the principal.
9. validation  - last before the handler: only authenticated, admitted calls pay for it.

Tracing and metrics are in the list only when the application turns them on (OTEL_*, METRICS_ADDR).

Health and reflection (selector.is_infrastructure) are never rate limited; authz runs only where a
principal is needed; validation only on our own services, whose messages carry buf.validate rules.

app.py hands the list to grpc.aio as it is (`grpc.aio.server(interceptors=[...])`, after the receive
deadline): each step is a plain `ServerInterceptor` that wraps the handler of the methods it
`applies` to and passes the others through untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.trace import Tracer

from rpc.metrics import Metrics

from . import selector
from .audit import AuditInterceptor
from .auth import AuthInterceptor
from .auth_failures import AuthFailureBudget
from .authz import AuthorizationInterceptor
from .base import Interceptor
from .context import ContextInterceptor, Network
from .errors import ErrorScrubbingInterceptor
from .metrics import MetricsInterceptor
from .policy import SERVICES
from .protocols import ApiKeyChecker, AuditSink, RateLimiter, TokenVerifier
from .ratelimit import RateLimitInterceptor, RateLimitPolicy
from .tracing import TracingInterceptor
from .validation import ValidationInterceptor


@dataclass(frozen=True)
class ChainOptions:
    """The chain's own settings (server/app.py fills them in from `Settings`)."""

    rate_limits: tuple[tuple[str, str], ...]  # limit per RPC name ("Login", ..., "default": "60/minute")
    auth_failure_limit: str  # failed authentications per client IP ("20/minute"; auth_failures.py)
    trusted_proxies: tuple[Network, ...] = ()  # peers whose x-forwarded-for is believed (context.py)


@dataclass(frozen=True)
class ChainDependencies:
    """What the interceptors need from the running application (filled in by app.py): narrow protocols."""

    options: ChainOptions
    audit: AuditSink
    limiter: RateLimiter
    token_verifier: TokenVerifier  # Bearer access tokens
    api_key_checker: ApiKeyChecker  # x-api-key
    metrics: Metrics | None = None  # METRICS_ADDR set: the gRPC server metrics (metrics.py); None: off
    tracer: Tracer | None = None  # OTEL_* turn tracing on: a SERVER span per call (tracing.py); None: off


def _is_limited(method: str) -> bool:
    return not selector.is_infrastructure(method)


def build_chain(deps: ChainDependencies) -> list[Interceptor]:
    """The interceptors in order, outermost first."""
    options = deps.options
    policy = RateLimitPolicy.from_settings(options.rate_limits, SERVICES)
    tracing = [TracingInterceptor(deps.tracer)] if deps.tracer is not None else []
    metrics = [MetricsInterceptor(deps.metrics)] if deps.metrics is not None else []
    return [
        *tracing,  # SERVER span continuing the caller's traceparent; every later line carries its trace_id
        ContextInterceptor(trusted_proxies=options.trusted_proxies),  # request id, client IP, language
        *metrics,  # grpc_server_* and refusals, with the code the client gets
        AuditInterceptor(),  # one JSON line per call, with the status the client gets
        ErrorScrubbingInterceptor(),  # unexpected exceptions -> INTERNAL / UNAVAILABLE, nothing leaks
        AuthInterceptor(
            deps.token_verifier,
            deps.api_key_checker,
            failures=AuthFailureBudget.parse(deps.limiter, options.auth_failure_limit, deps.audit),
            applies=selector.needs_principal,
        ),  # principal, failed-auth budget per IP; public skip
        RateLimitInterceptor(deps.limiter, policy, deps.audit, applies=_is_limited),  # per principal or IP
        AuthorizationInterceptor(deps.audit, applies=selector.is_protected_wuffchat),  # role per method
        ValidationInterceptor(applies=selector.is_wuffchat),  # NFC + protovalidate, last before handler
    ]
