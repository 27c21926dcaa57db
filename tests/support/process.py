"""Run `python -m server` as a real process and find the port it bound.

For what only a process shows: the command line and its exit codes, signals, `--workers`, the memory
of a real process. Tests that need a server and not a process start it in-process with
tests/support/servers.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.auth import FAST_AUTH, SERVICE_KEY, env_text

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    port: int
    lines: list[str]

    def close(self) -> None:
        """Kill the process if it still runs and release its pipe."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def process_env(workdir: Path, **extra: str) -> dict[str, str]:
    """Variables for a test server process: APP_ENV=test, its own SQLite database and knowledge overlay
    in `workdir`, the test service key (SERVICE_KEY) and fast password hashing; `extra` adds or overrides."""
    return {
        "APP_ENV": "test",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/server.db",
        "KNOWLEDGE_OVERLAY_DIR": str(workdir / "overlay"),
        "API_KEYS": f"svc:service:{SERVICE_KEY}",
        **{name: env_text(value) for name, value in FAST_AUTH.items() if name != "API_KEYS"},
        **extra,
    }


def run_server(env: dict[str, str], *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run the server command to completion (for commands and start-up failures)."""
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_server(
    env: dict[str, str], *args: str, timeout: float = 60.0, ready: str = "listening", count: int = 1
) -> ServerProcess:
    """Start the server and wait for `count` log lines with event `ready` (one `listening` per worker)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "server", *args],
        env={**os.environ, "GRPC_ADDR": "127.0.0.1:0", **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("event") == ready:
            count -= 1
        if count == 0:
            return ServerProcess(process=process, port=int(record.get("port", 0)), lines=lines)
    ServerProcess(process=process, port=0, lines=lines).close()
    raise AssertionError("server did not start:\n" + "".join(lines))
