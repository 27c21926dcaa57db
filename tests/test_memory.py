"""The periodic heap trim (server/memory.py): glibc's malloc_trim found here, called in a thread, off at 0."""

from __future__ import annotations

import platform

import pytest

from server.memory import MemoryTrimmer, malloc_trim_function


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_malloc_trim_found_on_glibc() -> None:
    trim = malloc_trim_function()
    assert trim is not None
    assert trim(0) in (0, 1)


async def test_trim_once_calls_trim_with_zero() -> None:
    calls: list[int] = []

    def trim(pad: int) -> int:
        calls.append(pad)
        return 1

    assert await MemoryTrimmer(interval=10, trim=trim).trim_once()
    assert calls == [0]


async def test_interval_zero_never_starts() -> None:
    trimmer = MemoryTrimmer(interval=0, trim=lambda pad: 1)
    assert not trimmer.active
    trimmer.start()
    await trimmer.stop()
