"""The Envoy image: the web client and gRPC through to the server image, and the Kubernetes configurations."""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

import pytest
import yaml

from scripts import k8s, render_envoy
from tests.deploy.conftest import WRITABLE, Images, docker, health, logs, running, wait_serving
from tests.support.net import free_port
from tests.support.pki import make_pki


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
        running(images.server, "--read-only", *WRITABLE, "--env", f"GRPC_ADDR=127.0.0.1:{server_port}") as server,
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
    """The ConfigMap's envoy.yaml, with certificates where the Deployment mounts its Secrets."""
    pki = make_pki(_readable_dir(tmp_path / "pki"))
    tls = _readable_dir(tmp_path / "tls")
    shutil.copy(pki.server_cert, tls / "tls.crt")
    shutil.copy(pki.server_key, tls / "tls.key")
    upstream = _readable_dir(tmp_path / "upstream")
    shutil.copy(pki.ca, upstream / "ca.crt")
    for path in (*tls.iterdir(), *upstream.iterdir()):
        _readable(path)
    config = k8s.K8S / "overlays" / overlay / "envoy.yaml"
    done = docker(
        "run",
        "--rm",
        "--network",
        "host",
        "--read-only",
        "--volume",
        f"{config}:/etc/envoy/envoy.yaml:ro",
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
