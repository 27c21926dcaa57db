"""Where rate-limit counts live: in memory by default, in Redis when REDIS_URL is set.

Counting is the `limits` library's moving window (exact: the memory storage counts under a per-key
lock, the Redis storage in one Lua script), so N concurrent callers never get more than the limit.
The memory backend is limits' synchronous storage, used through its public methods only: its
operations are a few dictionary and list steps that never wait, so one hit and its window stats run
back to back without giving up the event loop (atomic for the loop, and a third of the cost of the
async storage's awaits and locks). It sweeps expired entries inline, at most once a second (see
`SweptMemoryStorage`), not on a timer thread.

Policy when Redis fails mid-run (documented in README.md): fail open to an in-process moving
window, so the service keeps answering with per-process limits; the switch is logged and audited
(`sys_monitor_disabled`). While degraded, a background probe PINGs Redis every `probe_interval`
seconds; when it answers, counting returns to Redis (logged, audited `sys_monitor_enabled`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog
from limits import RateLimitItem
from limits.aio.storage import RedisStorage
from limits.errors import StorageError
from limits.storage import MemoryStorage

from rpc import tracing
from rpc.metrics import Metrics

from .protocols import AuditSink, Verdict

log = structlog.get_logger(__name__)

KEY_PREFIX = "wuffchat-rl"
_REDIS_FAILURES = (StorageError, OSError, asyncio.TimeoutError)


SWEEP_INTERVAL = 1.0  # seconds between two sweeps of expired memory entries


class SweptMemoryStorage(MemoryStorage):
    """limits' MemoryStorage, its sweep of expired entries run inline at most every SWEEP_INTERVAL.

    Upstream schedules the sweep on a 10 ms `threading.Timer` whenever none is alive: under load a new
    thread every 10 ms, each started from the event loop (`Thread.start` waits until it runs), a tenth of
    a chain call's CPU (issue 14's profile). The sweep is the library's own; only when it runs changes.
    Moving windows are decided by the entries' timestamps, so a later sweep changes no decision
    (tests/interceptors/test_ratelimit_backend.py holds both).
    """

    def __init__(self) -> None:
        super().__init__()
        self._swept = time.monotonic()

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802  # replaces the name-mangled upstream method
        now = time.monotonic()
        if now - self._swept >= SWEEP_INTERVAL:
            self._swept = now
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


def _verdict(item: RateLimitItem, allowed: bool, window: tuple[float, int]) -> Verdict:
    """The decision plus the window after it (limits' `get_window_stats` for a moving window)."""
    window_start, counted = window
    return Verdict(
        allowed=allowed,
        limit=item.amount,
        remaining=max(0, item.amount - counted),
        reset_after=max(0.0, window_start + item.get_expiry() - time.time()),
    )


def _limits_uri(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "async+redis+" + redis_url
    return "async+" + redis_url


class Limiter:
    """Moving-window rate limits over memory or Redis, failing open to memory; see the module docstring.

    A `protocols.RateLimiter`: Redis failures never leave it, so it raises no `DependencyUnavailable`.
    """

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        audit: AuditSink | None = None,
        metrics: Metrics | None = None,
        probe_interval: float = 2.0,
        redis_timeout: float = 0.5,
    ) -> None:
        self._memory = SweptMemoryStorage()
        self._redis: RedisStorage | None = None
        if redis_url is not None:
            self._redis = RedisStorage(
                _limits_uri(redis_url),
                implementation="redispy",
                wrap_exceptions=True,
                key_prefix=KEY_PREFIX,
                socket_timeout=redis_timeout,
                socket_connect_timeout=redis_timeout,
            )
        self._audit = audit
        self._redis_errors = metrics.dependency_errors.labels("redis") if metrics is not None else None
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

    def _counts_in_redis(self) -> bool:
        """True while Redis counts; False while memory does (probing a Redis that is down)."""
        if self._redis is None:
            return False
        if not self._degraded:
            return True
        self._maybe_probe()
        return False

    async def peek(self, item: RateLimitItem, key: str) -> Verdict:
        """Whether one more call under `key` would be admitted, counting nothing; never raises for Redis."""
        if not self._counts_in_redis():
            return self._peek_memory(item, key)
        assert self._redis is not None
        try:
            with tracing.child("redis.ratelimit.peek"):
                window = await self._redis.get_moving_window(key, item.amount, item.get_expiry())
            return _verdict(item, window[1] < item.amount, window)
        except _REDIS_FAILURES as exc:
            await self._degrade(exc)
        return self._peek_memory(item, key)

    async def hit(self, item: RateLimitItem, key: str) -> Verdict:
        """Count one call against `item` under `key`; never raises for a failing Redis."""
        if not self._counts_in_redis():
            return self._hit_memory(item, key)
        assert self._redis is not None
        try:
            with tracing.child("redis.ratelimit.hit"):
                return await self._decide_redis(self._redis, item, key)
        except _REDIS_FAILURES as exc:
            await self._degrade(exc)
        return self._hit_memory(item, key)

    def _hit_memory(self, item: RateLimitItem, key: str) -> Verdict:
        expiry = item.get_expiry()
        allowed = self._memory.acquire_entry(key, item.amount, expiry)
        return _verdict(item, allowed, self._memory.get_moving_window(key, item.amount, expiry))

    def _peek_memory(self, item: RateLimitItem, key: str) -> Verdict:
        window = self._memory.get_moving_window(key, item.amount, item.get_expiry())
        return _verdict(item, window[1] < item.amount, window)

    @staticmethod
    async def _decide_redis(storage: RedisStorage, item: RateLimitItem, key: str) -> Verdict:
        allowed = await storage.acquire_entry(key, item.amount, item.get_expiry())
        return _verdict(item, allowed, await storage.get_moving_window(key, item.amount, item.get_expiry()))

    async def redis_alive(self) -> bool | None:
        """Whether Redis answers a PING now (health, metrics); None without REDIS_URL. Never raises."""
        if self._redis is None:
            return None
        try:
            alive = bool(await asyncio.wait_for(self._redis.check(), self._redis_timeout * 2))
        except Exception:
            alive = False
        return alive

    async def _degrade(self, exc: BaseException) -> None:
        if self._redis_errors is not None:
            self._redis_errors.inc()
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
        assert self._redis is not None
        try:
            alive = await asyncio.wait_for(self._redis.check(), self._redis_timeout * 2)
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
        """Stop a running probe; close the Redis connections."""
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        if self._redis is not None:
            client = getattr(getattr(self._redis, "bridge", None), "storage", None)
            if client is not None:
                await client.aclose()
