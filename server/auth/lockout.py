"""Failed-login counting and lockout with exponential backoff, per account and per client IP.

`max_failures` failures within `window` lock for `base_lock`, doubling with each further lock
(capped at `max_lock`). A successful login resets an account's counter and backoff; an IP's counter
only ages out, so one good login from a shared address cannot wipe an attacker's record.
The rules are pure functions over a counter and an explicit `now` (tests drive the clock);
`IpThrottle` keeps the per-IP counters in the `login_throttle` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from server.clock import Clock, system_clock
from server.storage import sealing
from server.storage.db import session_factory
from server.storage.models import LoginThrottle


class Counter(Protocol):
    """The four columns shared by `users` and `login_throttle`."""

    failed_logins: int
    first_failed_at: datetime | None
    locked_until: datetime | None
    lock_count: int


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int
    window: timedelta
    base_lock: timedelta
    max_lock: timedelta


def locked_until(counter: Counter, now: datetime) -> datetime | None:
    """When the lock ends, if `counter` is locked at `now`."""
    if counter.locked_until is None:
        return None
    until = counter.locked_until
    return until if until > now else None


def lock_duration(lock_count: int, policy: LockoutPolicy) -> timedelta:
    """The length of the (lock_count + 1)-th lock: base, 2 x base, 4 x base, ... up to max_lock."""
    return min(policy.base_lock * (1 << min(lock_count, 30)), policy.max_lock)


def record_failure(counter: Counter, now: datetime, policy: LockoutPolicy) -> bool:
    """Count one failure at `now`; True when it locks the counter."""
    first = counter.first_failed_at
    if first is None or now - first > policy.window:
        counter.failed_logins = 0
        counter.first_failed_at = now
    counter.failed_logins += 1
    if counter.failed_logins < policy.max_failures:
        return False
    counter.locked_until = now + lock_duration(counter.lock_count, policy)
    counter.lock_count += 1
    counter.failed_logins = 0
    counter.first_failed_at = None
    return True


def record_success(counter: Counter) -> None:
    """A good login: forget failures and backoff."""
    counter.failed_logins = 0
    counter.first_failed_at = None
    counter.locked_until = None
    counter.lock_count = 0


class IpThrottle:
    """Per-IP counters in `login_throttle`, keyed `ip:<blind index of the address>` (the keyed HMAC of
    storage/sealing.py), so a database copy holds no client address here."""

    def __init__(self, engine: AsyncEngine, policy: LockoutPolicy, *, clock: Clock = system_clock) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)
        self.policy = policy
        self._clock = clock

    async def locked_until(self, ip: str) -> datetime | None:
        async with self._sessions() as session:
            row = await session.get(LoginThrottle, self._key(ip))
            return locked_until(row, self._clock()) if row else None

    async def failure(self, ip: str) -> bool:
        """Count a failed login from `ip`; True when it locks the address."""
        async with self._sessions() as session, session.begin():
            key = self._key(ip)
            row = await session.get(LoginThrottle, key, with_for_update=True)
            if row is None:
                row = LoginThrottle(key=key, failed_logins=0, lock_count=0)
                session.add(row)
            return record_failure(row, self._clock(), self.policy)

    def _key(self, ip: str) -> str:
        return f"ip:{sealing.cipher_of(self._engine).blind(f'ip:{ip}')}"
