"""The memory backend's storage: limits' moving window, its expired entries swept inline, never on a thread."""

from __future__ import annotations

import threading
import time

import pytest

from interceptors import ratelimit_backend
from interceptors.ratelimit_backend import SweptMemoryStorage


def test_hits_start_no_thread_and_the_window_still_limits() -> None:
    storage = SweptMemoryStorage()
    before = threading.active_count()
    allowed = [storage.acquire_entry("k", 5, 60) for _ in range(8)]
    assert allowed == [True] * 5 + [False] * 3
    assert threading.active_count() == before


def test_a_window_frees_up_by_its_timestamps_before_any_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit_backend, "SWEEP_INTERVAL", 3600.0)
    storage = SweptMemoryStorage()
    assert [storage.acquire_entry("k", 2, 1) for _ in range(3)] == [True, True, False]
    time.sleep(1.05)
    assert storage.acquire_entry("k", 2, 1) is True


def test_expired_entries_are_swept_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit_backend, "SWEEP_INTERVAL", 0.0)
    storage = SweptMemoryStorage()
    storage.acquire_entry("old", 3, 1)
    time.sleep(1.05)
    storage.acquire_entry("new", 3, 60)  # the next hit sweeps
    assert not storage.events.get("old")  # the library's sweep empties an expired key's entries
    assert storage.events["new"]
