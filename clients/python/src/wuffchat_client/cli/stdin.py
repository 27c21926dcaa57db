"""Lines from stdin that Ctrl-C always interrupts, whichever thread the kernel hands the signal to.

A plain `sys.stdin.readline()` blocks in read(2): a SIGINT taken by another thread, or one that lands
just before the read starts, sets Python's flag but never wakes the read, so the chat would hang until
the next line. Here the wait is a select(2) on stdin and on the signal module's wake-up descriptor
(`signal.set_wakeup_fd`), which every signal writes to: the wait ends, and the KeyboardInterrupt is
raised in the main thread.
"""

from __future__ import annotations

import os
import select
import signal
import sys
from types import TracebackType


class InterruptibleStdin:
    """`readline()` like `sys.stdin`'s; use it as a context manager, in the main thread only."""

    def __init__(self, fd: int | None = None, encoding: str | None = None) -> None:
        self._fd = sys.stdin.fileno() if fd is None else fd
        self._encoding = encoding or sys.stdin.encoding or "utf-8"
        self._buffer = b""
        self._eof = False
        self._wake: tuple[int, int] | None = None
        self._previous_wake = -1

    def __enter__(self) -> InterruptibleStdin:
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        os.set_blocking(write_end, False)
        self._previous_wake = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        self._wake = (read_end, write_end)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._wake is not None:
            signal.set_wakeup_fd(self._previous_wake)
            for fd in self._wake:
                os.close(fd)
            self._wake = None

    def readline(self) -> str:
        """One line with its newline, the rest at end of input, "" at end of input."""
        assert self._wake is not None, "use InterruptibleStdin as a context manager"
        wake = self._wake[0]
        while b"\n" not in self._buffer and not self._eof:
            ready, _, _ = select.select([self._fd, wake], [], [])
            if wake in ready:
                os.read(wake, 512)  # a signal arrived: its handler runs as soon as this returns to Python
            if self._fd in ready:
                chunk = os.read(self._fd, 65536)
                self._buffer += chunk
                self._eof = not chunk
        line, newline, self._buffer = self._buffer.partition(b"\n")
        return (line + newline).decode(self._encoding, errors="replace")
