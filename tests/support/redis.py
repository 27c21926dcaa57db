"""A real Redis server for the test session, on a free 127.0.0.1 port.

Uses Debian's `redis-server` binary, installing the package first when it is missing and we are
root (CI also installs it in .ci/run). Tests may `stop()` and `start()` it again on the same port
to simulate an outage.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scripts import system_packages
from tests.support.net import free_port


class RedisServer:
    """One redis-server process without persistence; `url` stays valid across stop/start."""

    def __init__(self, binary: str, port: int, workdir: Path) -> None:
        self.binary, self.port, self.workdir = binary, port, workdir
        self.url = f"redis://127.0.0.1:{port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        self._process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            sock.recv(16)


def _say(message: str) -> None:
    print(f"tests/support/redis: {message}", file=sys.__stderr__, flush=True)


def _binary() -> str | None:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        system_packages.ensure([system_packages.BY_NAME["redis-server"]], _say)
        found = shutil.which("redis-server")
    return found


@contextmanager
def running_redis() -> Iterator[RedisServer | None]:
    """Yield a started server, or None when redis-server cannot be had on this machine."""
    binary = _binary()
    if binary is None:
        yield None
        return
    workdir = Path(tempfile.mkdtemp(prefix="wuffchat-redis-"))
    server = RedisServer(binary, free_port(), workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
