"""Rate limiting, after authentication: per method, keyed by principal when known, else by client IP.

It sits after auth so an authenticated caller is counted as themselves (a shared NAT or Envoy does
not pool them with strangers), and before authorization and validation so a flood is refused as
cheaply as possible. The client IP is the context interceptor's, which believes `x-forwarded-for`
only from TRUSTED_PROXIES. Health and reflection are never limited (chain.py passes the selector).

Every admitted call carries trailing metadata `x-ratelimit-limit`, `x-ratelimit-remaining` and
`x-ratelimit-reset` (seconds until the oldest counted call leaves the window). A refused call ends
with RESOURCE_EXHAUSTED, the localized "rate_limited" message, `google.rpc.RetryInfo` and
`QuotaFailure`, the same headers plus `retry-after` (seconds), and an `excess_rate_limit_exceeded`
audit event (at most one per key and method per minute, so a flood cannot flood the audit table).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import grpc
import limits
from google.protobuf import descriptor, duration_pb2
from google.rpc import error_details_pb2
from limits import RateLimitItem
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from rpc import call, errors

from .base import Context, Interceptor, RpcInfo
from .protocols import AuditSink, RateLimiter

_AUDIT_ONCE = limits.parse("1/minute")


class RateLimitPolicy:
    """The limit of each method (full path "/pkg.Service/Method"), and the default for the rest."""

    def __init__(self, default: RateLimitItem, per_method: Mapping[str, RateLimitItem] | None = None) -> None:
        self._default = default
        self._per_method = dict(per_method or {})

    def for_method(self, method: str) -> RateLimitItem:
        return self._per_method.get(method, self._default)

    @classmethod
    def from_settings(
        cls, rate_limits: Iterable[tuple[str, str]], services: Iterable[descriptor.ServiceDescriptor]
    ) -> RateLimitPolicy:
        """Map the RPC names of `Settings.rate_limits` ("Login", ..., "default") to full method paths."""
        by_name = dict(rate_limits)
        per_method = {
            f"/{service.full_name}/{method.name}": limits.parse(by_name[method.name])
            for service in services
            for method in service.methods
            if method.name in by_name
        }
        return cls(limits.parse(by_name["default"]), per_method)


class RateLimitInterceptor(Interceptor):
    """Counts each call and refuses those over the limit; see the module docstring."""

    def __init__(
        self,
        limiter: RateLimiter,
        policy: RateLimitPolicy,
        audit: AuditSink,
        *,
        applies: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__(applies=applies)
        self._limiter = limiter
        self._policy = policy
        self._audit = audit
        self._audit_gate = MovingWindowRateLimiter(MemoryStorage())
        self._rules: dict[str, tuple[RateLimitItem, str]] = {}  # method -> (limit, counter key prefix)

    def _rule(self, method: str) -> tuple[RateLimitItem, str]:
        rule = self._rules.get(method)
        if rule is None:  # once per method: limits builds the key prefix with escaping and joins
            item = self._policy.for_method(method)
            rule = self._rules[method] = (item, item.key_for(method))
        return rule

    async def before(self, info: RpcInfo, request: Any, context: Context) -> None:
        """Count the call; abort with RESOURCE_EXHAUSTED when it is over the limit."""
        state = call.current()
        key = state.principal.owner_key if state.principal is not None else f"ip:{state.client_ip}"
        item, prefix = self._rule(info.method)
        verdict = await self._limiter.hit(item, f"{prefix}/{key}")
        reset = math.ceil(verdict.reset_after)
        headers: list[tuple[str, str | bytes]] = [
            ("x-ratelimit-limit", str(verdict.limit)),
            ("x-ratelimit-remaining", str(verdict.remaining)),
            ("x-ratelimit-reset", str(reset)),
        ]
        if verdict.allowed:
            call.add_trailing_metadata(context, headers)
            return
        await self._refuse(info, context, item, key, headers=headers, retry_after=max(1, reset))

    async def _refuse(
        self,
        info: RpcInfo,
        context: Context,
        item: RateLimitItem,
        key: str,
        *,
        headers: list[tuple[str, str | bytes]],
        retry_after: int,
    ) -> None:
        call.add_trailing_metadata(context, [*headers, ("retry-after", str(retry_after))])
        if await self._audit_gate.hit(_AUDIT_ONCE, info.method, key):
            await self._audit.record_safely(
                "excess_rate_limit_exceeded",
                severity="warning",
                details={"method": info.method, "limit": str(item), "backend": self._limiter.backend},
            )
        await errors.abort(
            context,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "rate_limited",
            error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=retry_after)),
            error_details_pb2.QuotaFailure(
                violations=[
                    error_details_pb2.QuotaFailure.Violation(subject=key, description=f"{item} ({info.method})")
                ]
            ),
            retry_after=retry_after,
        )
