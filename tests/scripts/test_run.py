"""`make run`'s launcher (scripts/run.py): when a part cannot start, it fails with one clear line and
leaves no process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scripts.render_envoy import ROOT
from tests.support.net import free_port


@contextmanager
def occupied() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _launch(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ENVOY_", "GRPC_", "APP_ENV"))},
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/run.db",
        "KNOWLEDGE_OVERLAY_DIR": str(tmp_path / "overlay"),
        "GRPC_ADDR": f"127.0.0.1:{free_port()}",
        "ENVOY_ADDR": f"127.0.0.1:{free_port()}",
        "ENVOY_ADMIN_ADDR": f"127.0.0.1:{free_port()}",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.run", "--env", "dev"],
        cwd=ROOT,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: whatever it started is found afterwards
    )
    try:
        out, err = process.communicate(timeout=180)
    finally:
        left = _group_alive(process.pid)
        if left:
            os.killpg(process.pid, signal.SIGKILL)
    assert not left, f"processes left behind by the launcher:\n{err}"
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_run_envoy_port_taken_fails_before_starting_anything(tmp_path: Path) -> None:
    with occupied() as port:
        result = _launch(tmp_path, ENVOY_ADDR=f"127.0.0.1:{port}")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert f"cannot start Envoy: 127.0.0.1:{port} (ENVOY_ADDR) is in use" in line
    assert not (tmp_path / "run.db").exists()  # the server never started


def test_run_server_port_taken_stops_envoy_and_fails(tmp_path: Path) -> None:
    with occupied() as port:
        result = _launch(tmp_path, GRPC_ADDR=f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert "make run: the server (python -m server) exited with code 1" in result.stderr
    assert "Envoy was stopped too" in result.stderr


def test_run_starts_both_and_ctrl_c_stops_both(tmp_path: Path) -> None:
    grpc_port, envoy_port, admin_port = free_port(), free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ENVOY_", "GRPC_", "APP_ENV"))},
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/run.db",
        "KNOWLEDGE_OVERLAY_DIR": str(tmp_path / "overlay"),
        "GRPC_ADDR": f"127.0.0.1:{grpc_port}",
        "ENVOY_ADDR": f"127.0.0.1:{envoy_port}",
        "ENVOY_ADMIN_ADDR": f"127.0.0.1:{admin_port}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.run"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while not (_listening(grpc_port) and _listening(envoy_port)):
            assert process.poll() is None, "the launcher ended before both parts were up"
            assert time.monotonic() < deadline, "server and Envoy did not both start"
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C at the terminal reaches the whole group
        assert process.wait(60) == 0
    finally:
        if _group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
            raise AssertionError("processes left behind after Ctrl-C")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
