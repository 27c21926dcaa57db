"""The interceptor chain: the one place that fixes the order (SPEC.md section 5). Outermost first.

grpc.aio runs the first interceptor of the list outermost. The order, and why:

1. context     - every later step logs and keys on the request id, client IP and language it sets.
2. audit       - outside error scrubbing, so it records the status the client really gets.
3. errors      - turns any unexpected exception from below into INTERNAL with a reference.
4. auth        - establishes the principal; public methods (selector.is_public) skip it. Counts failed
                 authentications per client IP itself (auth_failures.py), before any verification:
                 the rate limit below runs only once the principal is known.
5. ratelimit   - after auth, so authenticated callers are limited per principal, not per IP.
6. authz       - role per method, needs the principal.
7. validation  - last before the handler: only authenticated, admitted calls pay for it.

Health and reflection (selector.is_infrastructure) are never rate limited; authz runs only where a
principal is needed; validation only on our own services, whose messages carry buf.validate rules.

app.py serves the list as one interceptor (`compose.Chain`): same order, same selection per method,
without grpc.aio awaiting seven interceptors on every call.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.audit import AuditLog
from server.config import Settings

from . import selector
from .audit import AuditInterceptor
from .auth import ApiKeyChecker, AuthInterceptor, TokenVerifier
from .auth_failures import AuthFailureBudget
from .authz import AuthorizationInterceptor
from .base import Interceptor
from .context import ContextInterceptor
from .errors import ErrorScrubbingInterceptor
from .policy import SERVICES
from .ratelimit import RateLimitInterceptor, RateLimitPolicy
from .ratelimit_backend import Limiter
from .validation import ValidationInterceptor


@dataclass(frozen=True)
class ChainDependencies:
    """What the interceptors need from the running application (filled in by app.py)."""

    settings: Settings
    audit: AuditLog
    limiter: Limiter
    token_verifier: TokenVerifier  # Bearer access tokens (server/auth/access.py)
    api_key_checker: ApiKeyChecker  # x-api-key (server/auth/api_keys.py)


def _is_limited(method: str) -> bool:
    return not selector.is_infrastructure(method)


def build_chain(deps: ChainDependencies) -> list[Interceptor]:
    """The interceptors in order, outermost first."""
    policy = RateLimitPolicy.from_settings(deps.settings.rate_limits, SERVICES)
    return [
        ContextInterceptor(trusted_proxies=deps.settings.trusted_proxies),  # request id, client IP, language
        AuditInterceptor(),  # one JSON line per call, with the status the client gets
        ErrorScrubbingInterceptor(),  # unexpected exceptions -> INTERNAL / UNAVAILABLE, nothing leaks
        AuthInterceptor(
            deps.token_verifier,
            deps.api_key_checker,
            failures=AuthFailureBudget.parse(deps.limiter, deps.settings.auth_failure_limit, deps.audit),
            applies=selector.needs_principal,
        ),  # principal, failed-auth budget per IP; public skip
        RateLimitInterceptor(deps.limiter, policy, deps.audit, applies=_is_limited),  # per principal or IP
        AuthorizationInterceptor(deps.audit, applies=selector.is_protected_wuffchat),  # role per method
        ValidationInterceptor(applies=selector.is_wuffchat),  # NFC + protovalidate, last before handler
    ]
