"""The lockout rules as pure functions over an explicit clock: window, exponential backoff, reset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from server.auth.lockout import LockoutPolicy, lock_duration, locked_until, record_failure, record_success

T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = LockoutPolicy(
    max_failures=5, window=timedelta(minutes=15), base_lock=timedelta(minutes=15), max_lock=timedelta(hours=24)
)


@dataclass
class Counter:
    failed_logins: int = 0
    first_failed_at: datetime | None = None
    locked_until: datetime | None = None
    lock_count: int = 0


def fail(counter: Counter, times: int, at: datetime) -> list[bool]:
    return [record_failure(counter, at, POLICY) for _ in range(times)]


def test_fifth_failure_in_window_locks_for_15_minutes() -> None:
    counter = Counter()
    assert fail(counter, 5, T0) == [False, False, False, False, True]
    assert locked_until(counter, T0) == T0 + timedelta(minutes=15)
    assert locked_until(counter, T0 + timedelta(minutes=15, seconds=1)) is None


def test_failures_outside_the_window_do_not_add_up() -> None:
    counter = Counter()
    fail(counter, 4, T0)
    assert fail(counter, 4, T0 + timedelta(minutes=16)) == [False] * 4
    assert locked_until(counter, T0 + timedelta(minutes=16)) is None


def test_backoff_doubles_and_is_capped() -> None:
    assert [lock_duration(n, POLICY) for n in range(8)] == [
        timedelta(minutes=15 * 2**n) if n < 7 else timedelta(hours=24) for n in range(8)
    ]
    counter = Counter()
    fail(counter, 5, T0)
    after_first = T0 + timedelta(minutes=16)
    fail(counter, 5, after_first)
    assert locked_until(counter, after_first) == after_first + timedelta(minutes=30)


def test_success_resets_backoff() -> None:
    counter = Counter()
    fail(counter, 5, T0)
    record_success(counter)
    assert (counter.failed_logins, counter.lock_count, counter.locked_until) == (0, 0, None)
    later = T0 + timedelta(hours=1)
    fail(counter, 5, later)
    assert locked_until(counter, later) == later + timedelta(minutes=15)
