"""The Envoy image: the web client and gRPC through to the server image, and the Kubernetes configurations."""

from __future__ import annotations

import shutil
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from scripts import k8s, render_envoy
from tests.deploy.conftest import WRITABLE, Images, docker, health, logs, metrics_env, running, wait_serving
from tests.support.net import free_port
from tests.support.pki import issue, make_pki, name, write_key, write_pem

# The first test of a session also waits for the images to build (minutes on a cold engine).
pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]


def _readable_dir(path: Path) -> Path:
    """A directory the images' users (10001, 10002) can read: pytest's own are root-only."""
    path.mkdir(mode=0o755, parents=True, exist_ok=True)
    path.chmod(0o755)
    return path


def _readable(path: Path) -> Path:
    path.chmod(0o644)
    return path


def test_envoy_image_serves_the_web_client_and_grpc_from_the_server_image(images: Images, tmp_path: Path) -> None:
    server_port, envoy_port, admin_port = free_port(), free_port(), free_port()
    environ = {
        "ENVOY_ADDR": f"127.0.0.1:{envoy_port}",
        "ENVOY_ADMIN_ADDR": f"127.0.0.1:{admin_port}",
        "GRPC_ADDR": f"127.0.0.1:{server_port}",
    }
    config = render_envoy.render(
        yaml.safe_load(render_envoy.TEMPLATE.read_text(encoding="utf-8")), render_envoy.options_from_env("dev", environ)
    )
    k8s.in_image(config)
    config_dir = _readable_dir(tmp_path / "envoy")
    render_envoy.write(config, config_dir / "envoy.yaml")
    _readable(config_dir / "envoy.yaml")
    with (
        running(
            images.server, "--read-only", *WRITABLE, *metrics_env(), "-e", f"GRPC_ADDR=127.0.0.1:{server_port}"
        ) as server,
        running(images.envoy, "--read-only", "--volume", f"{config_dir}:/etc/envoy:ro") as envoy,
    ):
        wait_serving(server, server_port)
        wait_serving(envoy, envoy_port)  # a gRPC health Check through Envoy to the server
        assert docker("exec", envoy, "id", "-u").stdout.strip() == "10002"
        with urllib.request.urlopen(f"http://127.0.0.1:{envoy_port}/", timeout=5) as page:
            assert page.status == 200
            assert page.headers["content-type"].startswith("text/html")
            assert b"<html" in page.read().lower()
        assert health(envoy_port, "wuffchat.knowledge.v1.KnowledgeService") == "SERVING", logs(envoy)


@pytest.mark.parametrize("overlay", k8s.OVERLAYS)
def test_kubernetes_envoy_config_loads_in_the_envoy_image(images: Images, tmp_path: Path, overlay: str) -> None:
    """The ConfigMap (envoy.yaml and its SDS files), with certificates where the Deployment mounts its Secrets."""
    pki = make_pki(_readable_dir(tmp_path / "pki"))
    tls = _readable_dir(tmp_path / "tls")
    shutil.copy(pki.server_cert, tls / "tls.crt")
    shutil.copy(pki.server_key, tls / "tls.key")
    upstream = _readable_dir(tmp_path / "upstream")
    shutil.copy(pki.ca, upstream / "ca.crt")
    for path in (*tls.iterdir(), *upstream.iterdir()):
        _readable(path)
    config = k8s.K8S / "overlays" / overlay / "envoy"
    done = docker(
        "run",
        "--rm",
        "--network",
        "host",
        "--read-only",
        "--volume",
        f"{config}:/etc/envoy:ro",
        "--volume",
        f"{tls}:/etc/envoy-tls:ro",
        "--volume",
        f"{upstream}:/etc/envoy-upstream:ro",
        images.envoy,
        "--mode",
        "validate",
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "OK" in done.stdout + done.stderr


def test_prod_envoy_config_carries_grpc_over_tls_at_both_ends(images: Images, tmp_path: Path) -> None:
    """overlays/prod/envoy/ as the pod runs it: TLS from the caller to Envoy, and from Envoy to the
    server's TLS port, verified against ca.crt for the name `wuffchat-server` (both containers share one
    network namespace, as a pod's containers do; /etc/hosts maps the Service name to loopback)."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = issue("WuffChat test CA", ca_key, (name("WuffChat test CA"), ca_key), ca=True)
    sans: list[x509.GeneralName] = [x509.DNSName(k8s.UPSTREAM_NAME), x509.DNSName("localhost")]
    cert = issue(
        k8s.UPSTREAM_NAME, key, (ca.subject, ca_key), ca=False, usage=ExtendedKeyUsageOID.SERVER_AUTH, sans=sans
    )
    secret = _readable_dir(tmp_path / "grpc-tls")  # the Secret wuffchat-grpc-tls, used for both ends here
    write_pem(cert, secret / "tls.crt")
    write_key(key, secret / "tls.key")
    write_pem(ca, secret / "ca.crt")
    for path in secret.iterdir():
        _readable(path)
    hosts = tmp_path / "hosts"
    hosts.write_text(f"127.0.0.1 localhost {k8s.UPSTREAM_NAME}\n", encoding="utf-8")
    _readable(hosts)
    config = k8s.K8S / "overlays" / "prod" / "envoy"
    server_env = {
        "GRPC_ADDR": "0.0.0.0:50051",
        "GRPC_TLS_CERT_FILE": "/run/secrets/wuffchat-grpc-tls/tls.crt",
        "GRPC_TLS_KEY_FILE": "/run/secrets/wuffchat-grpc-tls/tls.key",
    }
    env = [item for pair in server_env.items() for item in ("--env", "=".join(pair))]
    secret_mount = f"{secret}:/run/secrets/wuffchat-grpc-tls:ro"
    envoy_mounts = [
        *("--volume", f"{config}:/etc/envoy:ro"),
        *("--volume", f"{secret}:/etc/envoy-tls:ro"),
        *("--volume", f"{secret}:/etc/envoy-upstream:ro"),
        *("--volume", f"{hosts}:/etc/hosts:ro"),
    ]
    # The caller: the image's healthcheck, in the same namespace, to Envoy's TLS listener (8443).
    caller = ["--env", "GRPC_ADDR=127.0.0.1:8443", "python", "scripts/healthcheck.py"]
    caller += ["--tls-ca", "/run/secrets/wuffchat-grpc-tls/ca.crt", "--server-name", "localhost"]
    with (
        running(images.server, "--read-only", *WRITABLE, "--volume", secret_mount, *env, network="none") as server,
        running(images.envoy, "--read-only", *envoy_mounts, network=f"container:{server}") as envoy,
    ):
        deadline = time.monotonic() + 180
        answer = docker("exec", *caller[:2], server, *caller[2:], check=False)
        while answer.returncode != 0 and time.monotonic() < deadline:
            time.sleep(1)
            answer = docker("exec", *caller[:2], server, *caller[2:], check=False)
        assert answer.stdout.strip() == "healthcheck: SERVING", answer.stderr[-1500:] + logs(envoy) + logs(server)
