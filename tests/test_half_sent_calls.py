"""Half-sent calls (HEADERS and part of a message, then nothing) end, and the memory they took returns.

A real `python -m server` process, raw HTTP/2 connections (tests/support/half_sent.py): thousands of
unary calls whose gRPC length prefix promises more bytes than are ever sent. The receive deadline, the
cap on waiting calls and the per-connection stream limit must end every one of them while the
connections stay open (and the handshake deadline closes a connection that never starts HTTP/2); once
they close, the periodic heap trim must bring RSS back near its baseline (before these bounds, 5,000
such calls were never answered and RSS stayed at its peak).
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.half_sent import HalfSentConnection, open_half_sent, rss_bytes
from tests.support.process import ServerProcess, start_server

MB = 1024 * 1024
CONNECTIONS = 40
PER_CONNECTION = 100
STREAMS = 125  # per connection: 25 more than MAX_STREAMS_PER_CONNECTION
LIMITS = {
    "REQUEST_RECEIVE_TIMEOUT_SECONDS": "2",
    "MAX_WAITING_REQUESTS": "1000",
    "MAX_STREAMS_PER_CONNECTION": str(PER_CONNECTION),
    "MEMORY_TRIM_INTERVAL_SECONDS": "1",
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = start_server({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/h.db", **LIMITS})
    assert proc.process.stdout is not None
    stdout = proc.process.stdout
    # keep reading its log so the pipe never fills and blocks the server
    threading.Thread(target=lambda: all(True for _ in stdout), daemon=True).start()
    try:
        yield proc
    finally:
        proc.close()


def _pump_until_ended(clients: list[HalfSentConnection], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(c.ended < c.started for c in clients):
        for client in clients:
            client.pump(0.01)


def _closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        while sock.recv(4096):  # the server may say why (GOAWAY) before it closes
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


class _PeakRss:
    """The highest RSS of a process, sampled every 20 ms on a thread while the block runs (one reading
    right after the flood is sent can come before the server has read most of it)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_bytes(pid)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()


def _settled_rss(pid: int, target: int, timeout: float) -> int:
    """RSS once it is at most `target`, or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    rss = rss_bytes(pid)
    while rss > target and time.monotonic() < deadline:
        time.sleep(0.5)
        rss = rss_bytes(pid)
    return rss


@pytest.mark.timeout(90)
def test_unary_half_sent_calls_end_and_memory_returns(server: ServerProcess) -> None:
    pid = server.process.pid
    time.sleep(1)
    baseline = rss_bytes(pid)
    silent = socket.create_connection(("127.0.0.1", server.port))  # no HTTP/2 preface, no SETTINGS
    with _PeakRss(pid) as sampled:
        clients = open_half_sent(server.port, connections=CONNECTIONS, streams=STREAMS, promised=60_000, sent=16_000)
        try:
            _pump_until_ended(clients, timeout=10)
            started = sum(c.started for c in clients)
            ended = sum(c.ended for c in clients)
            statuses = sum((c.statuses for c in clients), Counter[str]())
            assert started == CONNECTIONS * STREAMS
            assert ended == started, f"{started - ended} of {started} half-sent calls still held ({statuses})"
            assert not any(c.closed for c in clients)  # ended by the limits, not by dropping connections
            refused = sum(len(c.reset - c.answered) for c in clients)
            assert refused == CONNECTIONS * (STREAMS - PER_CONNECTION)  # REFUSED_STREAM past the stream limit
            assert statuses["4"] > 0  # DEADLINE_EXCEEDED: the receive deadline
            assert statuses["8"] > 0  # RESOURCE_EXHAUSTED: too many calls waiting for their message
            assert _closed_by_server(silent), "a connection that never sent its HTTP/2 preface is still open"
        finally:
            silent.close()
            for client in clients:
                client.close()
    peak = sampled.peak
    grown = peak - baseline
    # 4,000 calls of 16,000 bytes each were sent (61 MB): the server held at least half of it at the peak
    assert grown > 30 * MB, f"the flood should have cost memory (grew {grown / MB:.0f} MB)"
    after = _settled_rss(pid, baseline + grown // 2, timeout=8)
    assert after <= baseline + grown // 2, (
        f"RSS {after / MB:.0f} MB after the connections closed; baseline {baseline / MB:.0f}, peak {peak / MB:.0f}"
    )
