"""What the interceptors need from the application, as narrow protocols: an audit sink, a limiter, an authenticator.

The application hands in objects that fit (server/app.py: `server.audit.AuditLog`, the
`ratelimit_backend.Limiter`, server/auth's token verifier and API-key checker); nothing here names
them, so the interceptors import no service, storage or configuration (tests/test_layers.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from limits import RateLimitItem

from rpc.call import Principal


class AuditSink(Protocol):
    """Where security events go (the hash-chained audit table in production)."""

    async def record_safely(
        self, event: str, *, severity: str = "info", principal: str | None = None, details: dict[str, Any] | None = None
    ) -> bool:
        """Record `event` for the running call; False (logged, never raised) when it could not be stored."""
        ...


class Verdict(NamedTuple):
    """One admission decision and the window it was made in (a tuple: made on every call)."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # seconds until the oldest counted call leaves the window


class RateLimiter(Protocol):
    """Moving-window counting per key; never raises for a failing backend (it fails open)."""

    @property
    def backend(self) -> str:
        """Where counts live now, for audit details ("memory", "redis", "memory-fallback")."""
        ...

    async def hit(self, item: RateLimitItem, key: str) -> Verdict:
        """Count one call against `item` under `key`."""
        ...

    async def peek(self, item: RateLimitItem, key: str) -> Verdict:
        """Whether one more call under `key` would be admitted, counting nothing."""
        ...


class TokenVerifier(Protocol):
    async def verify(self, token: str) -> Principal | None:
        """The principal of a valid access token, else None."""


class ApiKeyChecker(Protocol):
    async def check(self, key: str) -> Principal | None:
        """The principal of a valid API key, else None."""
