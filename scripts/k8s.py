"""Kubernetes manifests (deploy/k8s): render each overlay's Envoy configuration, and check every overlay.

`python -m scripts.k8s envoy` writes deploy/k8s/overlays/<overlay>/envoy.yaml (`make k8s-config`):
scripts/render_envoy.py's configuration for the overlay's APP_ENV and CORS_ORIGINS (read from the
overlay's kustomization), listening on 0.0.0.0:8443 with TLS from the mounted Secret, the server's
Service as upstream (with TLS verified against the server's CA where the overlay turns on
GRPC_TLS_CERT_FILE), and the web client's files at the paths the Envoy image has them. It needs the
built web client (`make web`).

`python -m scripts.k8s check` (`make k8s-check`, run by `make lint`) renders every overlay with
`kubectl kustomize` and validates each object against the Kubernetes schemas of kubernetes-validate
(offline, strict: unknown fields fail). When the web client is built, it also checks that each
overlay's envoy.yaml is what `envoy` would write now. Exit codes: 0 fine, 1 a check failed (one line
each), 2 a tool is missing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess  # nosec B404
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from scripts import render_envoy

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
# The Kubernetes version the manifests are written for (autoscaling/v2, policy/v1, gRPC probes).
KUBERNETES_VERSION = "1.31.0"
# Where things are inside the containers (Dockerfile, deploy/envoy/Dockerfile, base/envoy.yaml).
IMAGE_WEB_DIST = "/app/clients/web/dist"
ENVOY_LISTEN = "0.0.0.0:8443"
UPSTREAM = "wuffchat-server:50051"
UPSTREAM_NAME = "wuffchat-server"
DOWNSTREAM_CERT = "/etc/envoy-tls/tls.crt"
DOWNSTREAM_KEY = "/etc/envoy-tls/tls.key"
UPSTREAM_CA = "/etc/envoy-upstream/ca.crt"
TLS_CONTEXT = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3"

Json = dict[str, Any]


class CheckError(RuntimeError):
    """A manifest or a tool failed; the message is one line."""


def kubectl() -> str:
    """The kubectl binary (its `kustomize` renders the overlays)."""
    found = shutil.which("kubectl")
    if found is None:
        raise CheckError("kubectl is missing: install it (Debian/Google Cloud package `kubectl`) to render deploy/k8s")
    return found


def render_overlay(overlay: str) -> list[Json]:
    """Every object of the overlay, as `kubectl kustomize` renders it."""
    done = subprocess.run(  # noqa: S603  # nosec B603
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)], check=False, capture_output=True, text=True
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["?"]
        raise CheckError(f"kubectl kustomize overlays/{overlay} failed: {lines[0]}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def config_literals(overlay: str) -> dict[str, str]:
    """The wuffchat-config variables of the overlay after merging with the base (as rendered)."""
    for doc in render_overlay(overlay):
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].startswith("wuffchat-config"):
            return {str(key): str(value) for key, value in doc.get("data", {}).items()}
    raise CheckError(f"overlays/{overlay} has no wuffchat-config ConfigMap")


def _tls_socket(kind: str, context: Json) -> Json:
    return {"name": "envoy.transport_sockets.tls", "typed_config": {"@type": f"{TLS_CONTEXT}.{kind}", **context}}


def envoy_config(overlay: str) -> str:
    """The overlay's envoy.yaml as text (see the module docstring).

    Raises:
        CheckError: the web client is not built, or the overlay's values do not render.
    """
    if not (render_envoy.WEB_DIST / "index.html").is_file():
        raise CheckError("the web client is not built (clients/web/dist): run `make web` first")
    env = config_literals(overlay)
    environ = {"ENVOY_ADDR": ENVOY_LISTEN, "GRPC_ADDR": UPSTREAM, "CORS_ORIGINS": env.get("CORS_ORIGINS", "")}
    try:
        options = render_envoy.options_from_env(env.get("APP_ENV", "prod"), environ)
        config = render_envoy.render(yaml.safe_load(render_envoy.TEMPLATE.read_text(encoding="utf-8")), options)
    except render_envoy.RenderError as err:
        raise CheckError(f"overlays/{overlay}: {err}") from None
    in_image(config)
    listener = render_envoy._named(config["static_resources"]["listeners"], "edge")
    listener["filter_chains"][0]["transport_socket"] = _tls_socket(
        "DownstreamTlsContext",
        {
            "common_tls_context": {
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_certificates": [
                    {"certificate_chain": {"filename": DOWNSTREAM_CERT}, "private_key": {"filename": DOWNSTREAM_KEY}}
                ],
            }
        },
    )
    if env.get("GRPC_TLS_CERT_FILE"):
        cluster = render_envoy._named(config["static_resources"]["clusters"], "wuffchat_grpc")
        cluster["transport_socket"] = _tls_socket(
            "UpstreamTlsContext",
            {
                "sni": UPSTREAM_NAME,
                "common_tls_context": {
                    "alpn_protocols": ["h2"],
                    "validation_context": {
                        "trusted_ca": {"filename": UPSTREAM_CA},
                        "match_typed_subject_alt_names": [{"san_type": "DNS", "matcher": {"exact": UPSTREAM_NAME}}],
                    },
                },
            },
        )
    header = f"# Generated by `make k8s-config` (scripts/k8s.py) for overlays/{overlay} from envoy.yaml; do not edit.\n"
    return header + yaml.safe_dump(config, sort_keys=False, width=200)


def in_image(config: Json) -> None:
    """Point the web client's routes at the files where the Envoy image has them (IMAGE_WEB_DIST)."""
    local = str(render_envoy.WEB_DIST.resolve())
    for route in _routes(config):
        body = route.get("direct_response", {}).get("body", {})
        if "filename" in body:
            body["filename"] = IMAGE_WEB_DIST + body["filename"].removeprefix(local)


def _routes(config: Json) -> Iterator[Json]:
    listener = render_envoy._named(config["static_resources"]["listeners"], "edge")
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    for vhost in hcm["route_config"]["virtual_hosts"]:
        yield from vhost["routes"]


def write_envoy() -> None:
    for overlay in OVERLAYS:
        path = K8S / "overlays" / overlay / "envoy.yaml"
        path.write_text(envoy_config(overlay), encoding="utf-8")
        print(path.relative_to(ROOT))


def validate(overlay: str) -> list[str]:
    """One line per object of the overlay that the Kubernetes schemas refuse."""
    problems = []
    for doc in render_overlay(overlay):
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as err:
            where = ".".join(str(part) for part in err.path)
            problems.append(f"overlays/{overlay}: {name}: {where}: {err.message}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as err:
            problems.append(f"overlays/{overlay}: {name}: no schema ({err})")
    return problems


def check() -> list[str]:
    problems = []
    for overlay in OVERLAYS:
        problems += validate(overlay)
        if (render_envoy.WEB_DIST / "index.html").is_file():
            committed = (K8S / "overlays" / overlay / "envoy.yaml").read_text(encoding="utf-8")
            if committed != envoy_config(overlay):
                problems.append(f"overlays/{overlay}/envoy.yaml is stale: run `make k8s-config`")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("envoy", "check"))
    args = parser.parse_args(argv)
    try:
        if args.action == "envoy":
            write_envoy()
            return 0
        problems = check()
    except CheckError as err:
        print(f"k8s: {err}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"k8s: {problem}", file=sys.stderr)
    if not problems:
        print(f"k8s: overlays {', '.join(OVERLAYS)} render and validate (Kubernetes {KUBERNETES_VERSION})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
