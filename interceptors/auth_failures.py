"""The failed-authentication budget per client IP, for the authentication interceptor (auth.py).

A call that presents credentials (`authorization` or `x-api-key`) and fails authentication counts
against its client IP (the context interceptor's, believing `x-forwarded-for` only from
TRUSTED_PROXIES) in a moving window of `AUTH_FAILURE_LIMIT` (default 20/minute). The counts live
where the rate limits' do (ratelimit_backend.py: memory, or Redis when REDIS_URL is set, failing
open to memory), under their own key. Before any credential is verified, the IP's window is read
without counting: once it is full, every call with credentials from that IP ends with
RESOURCE_EXHAUSTED, the localized "rate_limited" message, `RetryInfo`, `QuotaFailure` and the
`retry-after` trailer (seconds until the oldest failure leaves the window). Valid credentials are
refused as well, unverified, until then: checking them would be the database work the budget saves,
and an attacker holding one valid key must not turn it into an oracle for others.

Successful authentications never count. Calls already past the check when the budget runs out are
still verified (at most the calls one IP has in flight); their failures find the window full and get
the same refusal. The refusal is audited once per IP and window as `authn_login_fail_max`.
"""

from __future__ import annotations

import math

import grpc
import limits
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from limits import RateLimitItem
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from rpc import call, errors

from .base import Context, RpcInfo
from .protocols import AuditSink, RateLimiter, Verdict

AUDIT_EVENT = "authn_login_fail_max"
_NAMESPACE = "authn-failures"


class AuthFailureBudget:
    """Counts failed authentications per client IP and refuses IPs over the budget; see the module docstring."""

    def __init__(self, limiter: RateLimiter, item: RateLimitItem, audit: AuditSink) -> None:
        self._limiter = limiter
        self._item = item
        self._prefix = item.key_for(_NAMESPACE)
        self._audit = audit
        self._audit_once = type(item)(1, item.multiples)  # one event per IP and window
        self._audit_gate = MovingWindowRateLimiter(MemoryStorage())

    @classmethod
    def parse(cls, limiter: RateLimiter, limit: str, audit: AuditSink) -> AuthFailureBudget:
        """The budget `limit` ("20/minute", `Settings.auth_failure_limit`)."""
        return cls(limiter, limits.parse(limit), audit)

    async def admit(self, info: RpcInfo, context: Context) -> None:
        """Before verifying credentials: abort with RESOURCE_EXHAUSTED when the caller's IP is over budget."""
        key = self._key()
        verdict = await self._limiter.peek(self._item, key)
        if not verdict.allowed:
            await self._refuse(info, context, verdict)

    async def failed(self, info: RpcInfo, context: Context) -> None:
        """Count one failed authentication; abort with RESOURCE_EXHAUSTED when the window was full already."""
        verdict = await self._limiter.hit(self._item, self._key())
        if not verdict.allowed:
            await self._refuse(info, context, verdict)

    def _key(self) -> str:
        return f"{self._prefix}/ip:{call.current().client_ip}"

    async def _refuse(self, info: RpcInfo, context: Context, verdict: Verdict) -> None:
        retry_after = max(1, math.ceil(verdict.reset_after))
        subject = f"ip:{call.current().client_ip}"
        call.add_trailing_metadata(context, [("retry-after", str(retry_after))])
        if await self._audit_gate.hit(self._audit_once, _NAMESPACE, subject):
            await self._audit.record_safely(
                AUDIT_EVENT,
                severity="warning",
                details={"method": info.method, "limit": str(self._item), "backend": self._limiter.backend},
            )
        await errors.abort(
            context,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "rate_limited",
            error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=retry_after)),
            error_details_pb2.QuotaFailure(
                violations=[
                    error_details_pb2.QuotaFailure.Violation(
                        subject=subject, description=f"{self._item} (failed authentications)"
                    )
                ]
            ),
            retry_after=retry_after,
        )
