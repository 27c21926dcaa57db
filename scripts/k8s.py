"""Kubernetes manifests (deploy/k8s): render each overlay's Envoy configuration, and check every overlay.

`python -m scripts.k8s envoy` writes deploy/k8s/overlays/<overlay>/envoy/ (`make k8s-config`): the
envoy.yaml of scripts/render_envoy.py for the overlay's APP_ENV and CORS_ORIGINS (read from the
overlay's kustomization) and the SDS files it names (scripts/envoy_tls.py): https on 0.0.0.0:8443 with
the certificate of the mounted Secret, a plain 0.0.0.0:8080 that only redirects to https, Envoy's
`/stats/prometheus` alone on 0.0.0.0:9902 (scripts/envoy_stats.py), the server's
Service as upstream (TLS verified against the server's CA for the name `wuffchat-server` where the
overlay turns on GRPC_TLS_CERT_FILE), and the web client's files at the paths the Envoy image has them.
It needs the built web client (`make web`).

`python -m scripts.k8s check` (`make k8s-check`, run by `make lint`) renders every overlay with
`kubectl kustomize` and validates each object against the Kubernetes schemas of kubernetes-validate
(offline, strict: unknown fields fail). When the web client is built, it also checks that each
overlay's envoy/ is what `envoy` would write now. Exit codes: 0 fine, 1 a check failed (one line
each), 2 a tool is missing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess  # nosec B404
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from scripts import envoy_tls, render_envoy

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
ENVOY_REDIRECT = "0.0.0.0:8080"  # plain http, answered only with a redirect to https (a Service maps 80)
ENVOY_STATS = "0.0.0.0:9902"  # GET /stats/prometheus only (scripts/envoy_stats.py), the pod port `metrics`
CONFIG_DIR = Path("/etc/envoy")  # the ConfigMap's mount: envoy.yaml and its SDS files
DOWNSTREAM_CERT = "/etc/envoy-tls/tls.crt"
DOWNSTREAM_KEY = "/etc/envoy-tls/tls.key"
UPSTREAM_CA = "/etc/envoy-upstream/ca.crt"

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


def envoy_files(overlay: str) -> dict[str, str]:
    """The overlay's Envoy configuration: envoy.yaml and the SDS files it names, by file name (see the module
    docstring). They are the ConfigMap `wuffchat-envoy`, mounted at ENVOY_CONFIG_DIR.

    Raises:
        CheckError: the web client is not built, or the overlay's values do not render.
    """
    if not (render_envoy.WEB_DIST / "index.html").is_file():
        raise CheckError("the web client is not built (clients/web/dist): run `make web` first")
    env = config_literals(overlay)
    env_name = env.get("APP_ENV", "prod")
    # The certificate files exist only in the pod (mounted Secrets), so TLS is given as options here, not
    # read from ENVOY_TLS_* and ENVOY_UPSTREAM_* (which check that the files can be read).
    try:
        options = replace(
            render_envoy.options_from_env(
                "dev",
                {"ENVOY_ADDR": ENVOY_LISTEN, "GRPC_ADDR": UPSTREAM, "ENVOY_STATS_ADDR": ENVOY_STATS},
                sds_dir=CONFIG_DIR,
            ),
            env=env_name,
            cors_origins=render_envoy.parse_origins(env_name, env.get("CORS_ORIGINS", "")),
            tls=envoy_tls.ServingTls(Path(DOWNSTREAM_CERT), Path(DOWNSTREAM_KEY)),
            redirect=render_envoy.parse_address("ENVOY_REDIRECT_ADDR", ENVOY_REDIRECT),
            upstream_tls=envoy_tls.UpstreamTls(Path(UPSTREAM_CA), UPSTREAM_NAME)
            if env.get("GRPC_TLS_CERT_FILE")
            else None,
        )
        config = render_envoy.render(yaml.safe_load(render_envoy.TEMPLATE.read_text(encoding="utf-8")), options)
    except render_envoy.RenderError as err:
        raise CheckError(f"overlays/{overlay}: {err}") from None
    in_image(config)
    header = f"# Generated by `make k8s-config` (scripts/k8s.py) for overlays/{overlay} from envoy.yaml; do not edit.\n"
    files = {"envoy.yaml": header + yaml.safe_dump(config, sort_keys=False, width=200)}
    for path, secret in envoy_tls.secrets(options.tls, options.upstream_tls, CONFIG_DIR).items():
        files[path.name] = json.dumps(secret, indent=2) + "\n"
    return files


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
        for name, text in envoy_files(overlay).items():
            path = K8S / "overlays" / overlay / "envoy" / name
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
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


def committed_envoy(overlay: str) -> dict[str, str]:
    directory = K8S / "overlays" / overlay / "envoy"
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(directory.glob("*"))}


def check() -> list[str]:
    problems = []
    for overlay in OVERLAYS:
        problems += validate(overlay)
        if (render_envoy.WEB_DIST / "index.html").is_file() and committed_envoy(overlay) != envoy_files(overlay):
            problems.append(f"overlays/{overlay}/envoy/ is stale: run `make k8s-config`")
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
