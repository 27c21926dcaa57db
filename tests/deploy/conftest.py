"""Images built by `make image`'s script and containers run from them, on this machine's Docker engine.

Tests that take the `images` fixture skip, naming why, when no Docker engine answers; in CI (.ci/run
starts dockerd) a skip fails. Containers use the host network and 127.0.0.1 ports, so everything stays
on loopback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from scripts import image
from scripts.render_envoy import WEB_DIST
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVER_TAG = "wuffchat-server:test"
ENVOY_TAG = "wuffchat-envoy:test"
# tmpfs for the image's writable paths, owned by the image's user (10001, Dockerfile).
WRITABLE = ("--tmpfs", "/app/var:uid=10001,gid=10001,mode=0700", "--tmpfs", "/tmp:mode=1777")


@dataclass(frozen=True)
class Images:
    server: str
    envoy: str


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def images() -> Images:
    """Both images, built now from this tree by scripts/image.py (cached layers make a rebuild quick)."""
    if shutil.which("docker") is None or not image.engine_available():
        pytest.skip("no Docker engine answers here (`docker info`); .ci/run installs docker.io and starts dockerd")
    if not (WEB_DIST / "index.html").is_file():
        pytest.skip("the web client is not built (`make web`), and the images carry it")
    env = {**os.environ, "SERVER_IMAGE": SERVER_TAG, "ENVOY_IMAGE": ENVOY_TAG}
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "scripts.image"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return Images(SERVER_TAG, ENVOY_TAG)


def metrics_env() -> tuple[str, str]:
    """METRICS_ADDR on a free loopback port: the image's 0.0.0.0:9464 would clash on the host network."""
    return ("--env", f"METRICS_ADDR=127.0.0.1:{free_port()}")


def health(port: int, service: str = "") -> str:
    """The status name a Check on 127.0.0.1:port answers, or the status code's name when the call fails."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=2
            )
        except grpc.RpcError as err:
            return str(err.code().name)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))


def wait_serving(container: str, port: int, timeout: float = 180) -> None:
    """Until health answers SERVING (start-up loads the knowledge base and its models: slow on 2 busy cores)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if health(port) == "SERVING":
            return
        state = docker("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", container).stdout.strip()
        if not state.startswith("running"):
            pytest.fail(f"container exited ({state}): {logs(container)}")
        time.sleep(0.5)
    pytest.fail(f"no SERVING on port {port} within {timeout} s: {logs(container)}")


def logs(container: str) -> str:
    done = docker("logs", "--tail", "20", container, check=False)
    return (done.stdout + done.stderr)[-3000:]


@contextmanager
def running(tag: str, *options: str, args: Sequence[str] = (), network: str = "host") -> Iterator[str]:
    """A container of `tag` on the host network (or `network`); removed afterwards whatever happened."""
    container = docker("run", "--detach", "--network", network, *options, tag, *args).stdout.strip()
    try:
        yield container
    finally:
        docker("rm", "--force", container, check=False)
