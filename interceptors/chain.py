"""The interceptor chain: the one place that fixes the order (SPEC.md section 5). Outermost first.

grpc.aio runs the first interceptor of the list outermost. The planned order, and why:

1. context     - every later step logs and keys on the request id, client IP and language it sets.
2. audit       - outside error scrubbing, so it records the status the client really gets.
3. errors      - turns any unexpected exception from below into INTERNAL with a reference.
4. auth        - establishes the principal; public methods (selector.is_public) skip it.
5. ratelimit   - after auth, so authenticated callers are limited per principal, not per IP.
6. authz       - role per method, needs the principal.
7. validation  - last before the handler: only authenticated, admitted calls pay for it.

Steps not built yet are added here by the issues that build them (4: audit, errors, ratelimit,
authz, validation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc

from server.config import Settings

from . import selector
from .auth import ApiKeyChecker, AuthInterceptor, TokenVerifier
from .context import ContextInterceptor


@dataclass(frozen=True)
class ChainDependencies:
    """What the interceptors need from the running application (filled in by app.py)."""

    settings: Settings
    token_verifier: TokenVerifier  # Bearer access tokens (server/auth/access.py)
    api_key_checker: ApiKeyChecker  # x-api-key (server/auth/api_keys.py)


def build_chain(deps: ChainDependencies) -> list[grpc.aio.ServerInterceptor[Any, Any]]:
    """The interceptors in order, outermost first."""
    return [
        ContextInterceptor(trusted_proxies=deps.settings.trusted_proxies),  # request id, client IP, language
        AuthInterceptor(deps.token_verifier, deps.api_key_checker, applies=selector.needs_principal),  # principal
    ]
