"""Where rate-limit counts live: in memory by default, in Redis when REDIS_URL is set.

Counting is the `limits` library's moving window (exact: the memory storage counts under a per-key
lock, the Redis storage in one Lua script), so N concurrent callers never get more than the limit.

Policy when Redis fails mid-run (documented in README.md): fail open to an in-process moving
window, so the service keeps answering with per-process limits; the switch is logged and audited
(`sys_monitor_disabled`). While degraded, a background probe PINGs Redis every `probe_interval`
seconds; when it answers, counting returns to Redis (logged, audited `sys_monitor_enabled`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import structlog
from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from server.audit import AuditLog

log = structlog.get_logger(__name__)

KEY_PREFIX = "wuffchat-rl"
_REDIS_FAILURES = (StorageError, OSError, asyncio.TimeoutError)


@dataclass(frozen=True)
class Verdict:
    """One admission decision and the window it was made in."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # seconds until the oldest counted call leaves the window


class _SweepingMemoryStorage(MemoryStorage):
    """limits' memory storage, sweeping expired entries at most once per `SWEEP_INTERVAL` seconds.

    The stock storage starts a sweep task (one worker-thread hop per key) on every hit, which
    costs more than the rest of the chain together. Sweeps only free memory: admission compares
    timestamps itself, so sweeping less often never admits a call over the limit.
    """

    SWEEP_INTERVAL = 1.0

    def __init__(self) -> None:
        super().__init__()
        self._next_sweep = 0.0

    async def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802  # overrides the private hook, by name
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_INTERVAL
            await super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]


def _limits_uri(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "async+redis+" + redis_url
    return "async+" + redis_url


class Limiter:
    """Moving-window rate limits over memory or Redis, failing open to memory; see the module docstring."""

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        audit: AuditLog | None = None,
        probe_interval: float = 2.0,
        redis_timeout: float = 0.5,
    ) -> None:
        self._memory = MovingWindowRateLimiter(_SweepingMemoryStorage())
        self._redis_storage: Storage | None = None
        self._redis: MovingWindowRateLimiter | None = None
        if redis_url is not None:
            self._redis_storage = RedisStorage(
                _limits_uri(redis_url),
                implementation="redispy",
                wrap_exceptions=True,
                key_prefix=KEY_PREFIX,
                socket_timeout=redis_timeout,
                socket_connect_timeout=redis_timeout,
            )
            self._redis = MovingWindowRateLimiter(self._redis_storage)
        self._audit = audit
        self._probe_interval = probe_interval
        self._redis_timeout = redis_timeout
        self._degraded = False
        self._last_probe = 0.0
        self._probe: asyncio.Task[None] | None = None

    @property
    def backend(self) -> str:
        """ "redis", "memory", or "memory-fallback" while Redis is down."""
        if self._redis is None:
            return "memory"
        return "memory-fallback" if self._degraded else "redis"

    async def hit(self, item: RateLimitItem, *identifiers: str) -> Verdict:
        """Count one call against `item` for `identifiers`; never raises for a failing Redis."""
        if self._redis is not None:
            if not self._degraded:
                try:
                    return await self._decide(self._redis, item, identifiers)
                except _REDIS_FAILURES as exc:
                    await self._degrade(exc)
            else:
                self._maybe_probe()
        return await self._decide(self._memory, item, identifiers)

    @staticmethod
    async def _decide(strategy: MovingWindowRateLimiter, item: RateLimitItem, identifiers: tuple[str, ...]) -> Verdict:
        allowed = await strategy.hit(item, *identifiers)
        stats = await strategy.get_window_stats(item, *identifiers)
        return Verdict(
            allowed=allowed,
            limit=item.amount,
            remaining=max(0, stats.remaining),
            reset_after=max(0.0, stats.reset_time - time.time()),
        )

    async def _degrade(self, exc: BaseException) -> None:
        if self._degraded:
            return
        self._degraded = True
        self._last_probe = time.monotonic()
        log.error("ratelimit_redis_down", policy="fail_open_memory", error_type=type(exc).__name__)
        if self._audit is not None:
            await self._audit.record_safely(
                "sys_monitor_disabled",
                severity="critical",
                details={"component": "ratelimit_redis", "policy": "fail_open_memory"},
            )

    def _maybe_probe(self) -> None:
        if self._probe is not None and not self._probe.done():
            return
        if time.monotonic() - self._last_probe < self._probe_interval:
            return
        self._last_probe = time.monotonic()
        self._probe = asyncio.create_task(self._run_probe())

    async def _run_probe(self) -> None:
        assert self._redis_storage is not None
        try:
            alive = await asyncio.wait_for(self._redis_storage.check(), self._redis_timeout * 2)
        except Exception:
            alive = False
        if not alive:
            return
        self._degraded = False
        log.warning("ratelimit_redis_recovered")
        if self._audit is not None:
            await self._audit.record_safely(
                "sys_monitor_enabled", severity="warning", details={"component": "ratelimit_redis"}
            )

    async def aclose(self) -> None:
        """Stop a running probe and close the Redis connections."""
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        if self._redis_storage is not None:
            client = getattr(getattr(self._redis_storage, "bridge", None), "storage", None)
            if client is not None:
                await client.aclose()
