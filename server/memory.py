"""Give freed heap memory back to the operating system (glibc only), so RSS falls after a burst.

glibc keeps memory freed by many short-lived allocations (a flood of calls, each with its own
buffers in grpc core and Python) in its arenas: the process's RSS stays at its peak long after
the calls are gone. `MemoryTrimmer` calls `malloc_trim(0)` every few seconds, in a worker thread
so the event loop never waits on it. Elsewhere (musl, macOS) there is nothing to call and it does
nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import platform
from collections.abc import Callable

import structlog

from server.periodic import Periodic

log = structlog.get_logger(__name__)


def malloc_trim_function() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library is not glibc."""
    if platform.libc_ver()[0] != "glibc":
        return None
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]  # a ctypes function, typed by argtypes/restype


class MemoryTrimmer:
    """`start()` trims the heap every `interval` seconds (server/periodic.py); 0 turns it off."""

    def __init__(self, *, interval: float, trim: Callable[[int], int] | None = None) -> None:
        self._trim = trim if trim is not None else malloc_trim_function()
        self._periodic = Periodic("memory-trim", self.trim_once, interval=interval) if interval > 0 else None

    @property
    def active(self) -> bool:
        return self._trim is not None and self._periodic is not None

    async def trim_once(self) -> bool:
        """Return freed memory to the system now; True when some was released."""
        if self._trim is None:
            return False
        return bool(await asyncio.to_thread(self._trim, 0))

    def start(self) -> None:
        if self.active and self._periodic is not None:
            self._periodic.start()

    async def stop(self) -> None:
        if self._periodic is not None:
            await self._periodic.stop()
