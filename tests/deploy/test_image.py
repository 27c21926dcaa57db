"""The server image as an orchestrator runs it: embedded defaults, non-root, read-only root, SIGTERM, a fleet."""

from __future__ import annotations

import secrets
import time
import urllib.request
from pathlib import Path

import grpc
import pytest

from tests.deploy.conftest import WRITABLE, Images, docker, health, logs, metrics_env, running, wait_serving
from tests.support.auth import TEST_DATA_KEYS, data_keys_env, login, register
from tests.support.net import free_port
from tests.support.pki import make_pki
from tests.support.redis import RedisServer

UID = "10001"

# The first test of a session also waits for the images to build (minutes on a cold engine).
pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]


def test_image_serves_health_read_only_as_non_root(images: Images) -> None:
    port, metrics_port = free_port(), free_port()
    with running(
        images.server,
        "--read-only",
        *WRITABLE,
        "--health-interval",
        "1s",
        *("--env", f"GRPC_ADDR=127.0.0.1:{port}"),
        *("--env", f"METRICS_ADDR=127.0.0.1:{metrics_port}"),
    ) as container:
        wait_serving(container, port)
        for service in ("wuffchat.auth.v1.AuthService", "wuffchat.conversation.v1.ConversationService"):
            assert health(port, service) == "SERVING"
        assert docker("exec", container, "id", "-u").stdout.strip() == UID
        assert docker("inspect", "--format", "{{.Config.User}}", images.server).stdout.strip() == f"{UID}:{UID}"
        # The root filesystem refuses writes; var/ (tmpfs) takes the SQLite database.
        refused = docker("exec", container, "touch", "/app/written", check=False)
        assert refused.returncode != 0
        assert "Read-only file system" in refused.stderr
        assert "wuffchat.db" in docker("exec", container, "ls", "/app/var").stdout
        # Metrics are on in the image (METRICS_ADDR), and count the calls just made.
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as page:
            scrape = page.read().decode()
        checks = [line for line in scrape.splitlines() if line.startswith("grpc_server_handled_total{")]
        assert any('grpc_method="Check"' in line and 'grpc_code="OK"' in line for line in checks), checks
        # The image's own HEALTHCHECK (scripts/healthcheck.py over the gRPC health protocol) reports healthy.
        deadline = time.monotonic() + 30
        status = ""
        while time.monotonic() < deadline and status != "healthy":
            status = docker("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()
            time.sleep(0.5)
        assert status == "healthy", logs(container)


def test_image_starts_with_only_embedded_defaults(images: Images) -> None:
    """No variable, no option: the image's GRPC_ADDR (0.0.0.0:50051) in a network namespace of its own, var/
    as the image's volume; asked from inside, as the HEALTHCHECK asks."""
    with running(images.server, network="none") as container:
        deadline = time.monotonic() + 180
        probe = docker("exec", container, "python", "scripts/healthcheck.py", check=False)
        while probe.returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.5)
            probe = docker("exec", container, "python", "scripts/healthcheck.py", check=False)
        assert (probe.returncode, probe.stdout.strip()) == (0, "healthcheck: SERVING"), logs(container)
        assert '"addr":"0.0.0.0:50051"' in docker("logs", container).stdout.replace(" ", "")


def test_sigterm_stops_the_container_cleanly_within_the_grace_period(images: Images) -> None:
    port = free_port()
    grace = 5
    with running(
        images.server,
        "--read-only",
        *WRITABLE,
        "--env",
        f"GRPC_ADDR=127.0.0.1:{port}",
        "--env",
        f"SHUTDOWN_GRACE_SECONDS={grace}",
        *metrics_env(),
    ) as container:
        wait_serving(container, port)
        started = time.monotonic()
        # `docker stop` sends SIGTERM to PID 1 (the server, exec-form entrypoint) and SIGKILL after 30 s.
        docker("stop", "--time", "30", container)
        elapsed = time.monotonic() - started
        exit_code = docker("inspect", "--format", "{{.State.ExitCode}}", container).stdout.strip()
        assert exit_code == "0", logs(container)
        assert elapsed < grace + 5, f"took {elapsed:.1f} s"
        assert health(port) == "UNAVAILABLE"


@pytest.mark.postgres
@pytest.mark.redis
async def test_two_containers_on_postgres_and_redis_serve_one_fleet(
    images: Images, postgres_url: str, redis_server: RedisServer
) -> None:
    """Registered through one container, logged in through the other: one database, one key, one Redis."""
    fleet_env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_server.url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATA_KEYS": data_keys_env(*TEST_DATA_KEYS),
        "CAPTCHA_MAX_NUMBER": "1000",
    }
    env = [item for name, value in fleet_env.items() for item in ("--env", f"{name}={value}")]
    ports = (free_port(), free_port())
    with (
        # One container with two workers (REDIS_URL and SECRET_KEY required), one with a single process.
        running(
            images.server,
            "--read-only",
            *WRITABLE,
            *env,
            *metrics_env(),
            "-e",
            "WORKERS=2",
            "-e",
            f"GRPC_ADDR=127.0.0.1:{ports[0]}",
        ) as first,
        running(
            images.server, "--read-only", *WRITABLE, *env, *metrics_env(), "-e", f"GRPC_ADDR=127.0.0.1:{ports[1]}"
        ) as second,
    ):
        wait_serving(first, ports[0])
        wait_serving(second, ports[1])
        async with (
            grpc.aio.insecure_channel(f"127.0.0.1:{ports[0]}") as one,
            grpc.aio.insecure_channel(f"127.0.0.1:{ports[1]}") as other,
        ):
            user_id = await register(one, "fleet@example.org")
            tokens = await login(other, "fleet@example.org")
        assert user_id
        assert tokens.access_token
        for container in (first, second):
            docker("stop", "--time", "30", container)
            assert docker("inspect", "--format", "{{.State.ExitCode}}", container).stdout.strip() == "0"


def test_healthcheck_speaks_tls_as_the_prod_probes_do(images: Images, tmp_path: Path) -> None:
    """GRPC_TLS_CERT_FILE on: the image's healthcheck with the CA answers SERVING; plaintext does not."""
    tls = tmp_path / "tls"
    tls.mkdir(mode=0o755)
    tls.chmod(0o755)  # readable by the image's user, like a Secret volume with fsGroup
    pki = make_pki(tls)
    for path in tls.iterdir():
        path.chmod(0o644)
    port = free_port()
    with running(
        images.server,
        "--read-only",
        *WRITABLE,
        "--volume",
        f"{tls}:/run/secrets/wuffchat-grpc-tls:ro",
        "--env",
        f"GRPC_ADDR=127.0.0.1:{port}",
        "--env",
        f"GRPC_TLS_CERT_FILE=/run/secrets/wuffchat-grpc-tls/{pki.server_cert.name}",
        "--env",
        f"GRPC_TLS_KEY_FILE=/run/secrets/wuffchat-grpc-tls/{pki.server_key.name}",
        *metrics_env(),
    ) as container:
        probe = ["exec", container, "python", "scripts/healthcheck.py"]
        tls_args = ["--tls-ca", f"/run/secrets/wuffchat-grpc-tls/{pki.ca.name}", "--server-name", "localhost"]
        deadline = time.monotonic() + 180
        answer = docker(*probe, *tls_args, check=False)
        while answer.returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.5)
            answer = docker(*probe, *tls_args, check=False)
        assert (answer.returncode, answer.stdout.strip()) == (0, "healthcheck: SERVING"), logs(container)
        service = docker(*probe, *tls_args, "wuffchat.conversation.v1.ConversationService", check=False)
        assert service.returncode == 0
        assert docker(*probe, check=False).returncode == 1  # plaintext against the TLS port


@pytest.mark.postgres
def test_migrate_command_of_the_kubernetes_job_runs_in_the_image(images: Images, postgres_url: str) -> None:
    """`python -m server migrate` (the image's entrypoint with the Job's argument) on PostgreSQL, then nothing left."""
    command = ["run", "--rm", "--network", "host", "--read-only", *WRITABLE, "--env", f"DATABASE_URL={postgres_url}"]
    first = docker(*command, images.server, "migrate", check=False)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "Running upgrade" in first.stdout + first.stderr
    again = docker(*command, images.server, "migrate", check=False)
    assert again.returncode == 0
    assert "Running upgrade" not in again.stdout + again.stderr
