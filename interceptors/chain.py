"""The interceptor chain: the one place that fixes the order (SPEC.md section 5). Outermost first.

grpc.aio runs the first interceptor of the list outermost. The planned order, and why:

1. context     - every later step logs and keys on the request id, client IP and language it sets.
2. audit       - outside error scrubbing, so it records the status the client really gets.
3. errors      - turns any unexpected exception from below into INTERNAL with a reference.
4. auth        - establishes the principal; public methods (selector.is_public) skip it.
5. ratelimit   - after auth, so authenticated callers are limited per principal, not per IP.
6. authz       - role per method, needs the principal.
7. validation  - last before the handler: only authenticated, admitted calls pay for it.

Steps not built yet are added here by the issues that build them (3: auth; 4: audit, errors,
ratelimit, validation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc

from server.config import Settings

from .context import ContextInterceptor


@dataclass(frozen=True)
class ChainDependencies:
    """What the interceptors need from the running application (filled in by app.py)."""

    settings: Settings


def build_chain(deps: ChainDependencies) -> list[grpc.aio.ServerInterceptor[Any, Any]]:
    """The interceptors in order, outermost first."""
    return [
        ContextInterceptor(trusted_proxies=deps.settings.trusted_proxies),  # request id, client IP, language
    ]
