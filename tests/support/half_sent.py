"""Raw HTTP/2 clients that start unary gRPC calls and never finish their request message.

Each call sends HEADERS and one DATA frame whose 5-byte gRPC prefix promises more bytes than follow,
and leaves the stream open: the server holds the call until something bounds it. `open_half_sent`
starts many such calls over many connections; `HalfSentConnection.pump` reads what the server sends
back (resets, GOAWAY, close) so a test can tell whether the server's limits ended them.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.exceptions

HEALTH_CHECK = "/grpc.health.v1.Health/Check"


@dataclass
class HalfSentConnection:
    """One client connection and what the server did to its streams."""

    sock: socket.socket
    conn: h2.connection.H2Connection
    started: int = 0
    reset: set[int] = field(default_factory=set)  # RST_STREAM from the server (refused or cancelled)
    answered: set[int] = field(default_factory=set)  # trailers or a response from the server
    statuses: Counter[str] = field(default_factory=Counter)  # grpc-status of the calls answered
    goaway: bool = False
    closed: bool = False  # the server closed the TCP connection

    def _handle(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.StreamReset):
            self.reset.add(event.stream_id)
        elif isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
            self.answered.add(event.stream_id)
            status = dict(event.headers).get("grpc-status")
            if status is not None:
                self.statuses[status] += 1
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = True

    def pump(self, timeout: float) -> None:
        """Read and handle the server's frames for up to `timeout` seconds (less once it closes)."""
        if self.closed:
            return
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return
        except OSError:
            self.closed = True
            return
        if not data:
            self.closed = True
            return
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.closed = True
            return
        for event in events:
            self._handle(event)
        self._flush()

    def _flush(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(self.conn.data_to_send())

    @property
    def ended(self) -> int:
        """Calls the server has ended one way or another (all of them once the connection is gone)."""
        if self.closed:
            return self.started
        return len(self.reset | self.answered)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        self.closed = True


def _headers(port: int, path: str) -> list[tuple[str, str]]:
    return [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", f"127.0.0.1:{port}"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ]


def _half_message(promised: int, sent: int) -> bytes:
    """A gRPC message prefix announcing `promised` bytes, followed by only `sent` of them."""
    return struct.pack(">BI", 0, promised) + b"\x0a" * sent


def _connect(port: int) -> HalfSentConnection:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    return HalfSentConnection(sock=sock, conn=conn)


def _start_calls(client: HalfSentConnection, port: int, streams: int, body: bytes, path: str) -> None:
    """HEADERS for every stream at once (before the server's SETTINGS are read, so a per-connection
    stream limit is the server's to enforce), then each stream's partial DATA as flow control allows."""
    ids = []
    for _ in range(streams):
        stream_id = client.conn.get_next_available_stream_id()
        client.conn.send_headers(stream_id, _headers(port, path))
        ids.append(stream_id)
    client.started += len(ids)
    client._flush()
    for stream_id in ids:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not client.closed:
            if stream_id in client.reset:
                break
            try:
                if client.conn.local_flow_control_window(stream_id) >= len(body):
                    client.conn.send_data(stream_id, body)
                    client._flush()
                    break
            except h2.exceptions.StreamClosedError:
                break
            client.pump(0.05)


def open_half_sent(
    port: int, *, connections: int, streams: int, promised: int, sent: int, path: str = HEALTH_CHECK
) -> list[HalfSentConnection]:
    """`connections` connections with `streams` half-sent unary calls each, all left open."""
    body = _half_message(promised, sent)
    clients = []
    for _ in range(connections):
        client = _connect(port)
        _start_calls(client, port, streams, body, path)
        clients.append(client)
    return clients


def rss_bytes(pid: int) -> int:
    """The resident set size of process `pid` (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise LookupError(f"no VmRSS for pid {pid}")
