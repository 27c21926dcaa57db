"""deploy/k8s held against the code: variables, ports, health service names, users, secrets, Envoy's upstream.

Each overlay is rendered as `kubectl kustomize` renders it (scripts/k8s.py); `make k8s-check` validates the
same output against the Kubernetes schemas.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import envoy_stats, k8s
from server.app import SERVICE_NAMES
from server.config import env_table, load_settings
from tests.support.pki import make_pki

ROOT = Path(__file__).resolve().parents[2]
Json = dict[str, Any]
HEALTH_SERVICES = {"", *SERVICE_NAMES}


def _dockerfile_uid(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    user = re.search(r"^USER (\d+):(\d+)$", text, re.MULTILINE)
    assert user, f"{path} has no numeric USER"
    assert re.search(rf"useradd --uid {user[1]} ", text), f"{path} creates no user {user[1]}"
    return int(user[1])


def _variables() -> tuple[set[str], set[str]]:
    """Every variable of the settings model, and the `_FILE` variants (secrets), from the env table."""
    rows = env_table.markdown().splitlines()[2:]
    names = {row.split("`")[1] for row in rows}
    files = {match for row in rows for match in re.findall(r"or `(\w+_FILE)`", row)}
    return names, files


@pytest.fixture(scope="module", params=k8s.OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[Json]]:
    try:
        return request.param, k8s.render_overlay(request.param)
    except k8s.CheckError as err:
        pytest.skip(str(err))


def _objects(docs: list[Json], kind: str) -> dict[str, Json]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def _config(docs: list[Json], prefix: str) -> Json:
    found = [doc for name, doc in _objects(docs, "ConfigMap").items() if name.startswith(prefix)]
    assert len(found) == 1
    return found[0]


def _pod_specs(docs: list[Json]) -> Iterator[tuple[str, Json]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


def _server_env(docs: list[Json], container: Json) -> dict[str, str]:
    """What the container's process sees: its ConfigMaps, then its own `env` entries."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        name = source["configMapRef"]["name"]
        env.update(_objects(docs, "ConfigMap")[name]["data"])
    for item in container.get("env", []):
        assert "value" in item, f"{item['name']} must be a literal value (secrets come as files)"
        env[item["name"]] = item["value"]
    return env


def test_every_variable_the_manifests_set_exists_in_the_settings(overlay: tuple[str, list[Json]]) -> None:
    _, docs = overlay
    names, files = _variables()
    for name, spec in _pod_specs(docs):
        for container in spec["containers"]:
            if container["name"] == "envoy":
                assert "env" not in container and "envFrom" not in container
                continue
            env = _server_env(docs, container)
            assert env, name
            unknown = set(env) - names - files
            assert not unknown, f"{name}: {sorted(unknown)} are not settings (python -m server config env-table)"
            # Secrets only as mounted files: a variable with a _FILE variant is never set directly.
            direct = {variable for variable in env if f"{variable}_FILE" in files}
            assert not direct, f"{name}: {sorted(direct)} set as values; use their _FILE variants"


def test_secret_files_lie_in_mounted_secrets(overlay: tuple[str, list[Json]]) -> None:
    _, docs = overlay
    for name, spec in _pod_specs(docs):
        secret_volumes = {volume["name"] for volume in spec.get("volumes", []) if "secret" in volume}
        for container in spec["containers"]:
            if container["name"] == "envoy":
                continue
            mounts = [m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] in secret_volumes]
            for variable, value in _server_env(docs, container).items():
                if variable.endswith("_FILE"):
                    assert any(value.startswith(mount + "/") for mount in mounts), f"{name}: {variable}={value}"


def _port(addr: str) -> int:
    return int(addr.rpartition(":")[2])


def test_ports_and_health_service_names_match_the_server(overlay: tuple[str, list[Json]]) -> None:
    _, docs = overlay
    deployment = _objects(docs, "Deployment")["wuffchat-server"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = _server_env(docs, container)
    port, metrics, health = _port(env["GRPC_ADDR"]), _port(env["METRICS_ADDR"]), _port(env["HEALTH_ADDR"])
    assert env["HEALTH_ADDR"] == "0.0.0.0:8081"
    assert [(p["name"], p["containerPort"]) for p in container["ports"]] == [
        ("grpc", port),
        ("metrics", metrics),
        ("health", health),
    ]
    service = _objects(docs, "Service")["wuffchat-server"]
    assert service["spec"]["ports"][0]["targetPort"] in (port, container["ports"][0]["name"])
    assert health not in {p["port"] for p in service["spec"]["ports"]}
    for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
        # native gRPC probes on HEALTH_ADDR's plaintext port (the gRPC port speaks TLS in prod)
        probe = container[probe_name]
        assert "exec" not in probe, probe_name
        assert probe["grpc"]["port"] == health, probe_name
        assert probe["grpc"].get("service", "") in HEALTH_SERVICES
    # Envoy's upstream is that Service and port (its ConfigMap is the rendered envoy.yaml).
    envoy_yaml = yaml.safe_load(_config(docs, "wuffchat-envoy")["data"]["envoy.yaml"])
    cluster = next(c for c in envoy_yaml["static_resources"]["clusters"] if c["name"] == "wuffchat_grpc")
    address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert (address["address"], address["port_value"]) == ("wuffchat-server", service["spec"]["ports"][0]["port"])
    envoy = _objects(docs, "Deployment")["wuffchat-envoy"]["spec"]["template"]["spec"]["containers"][0]
    listeners = {
        item["address"]["socket_address"]["port_value"] for item in envoy_yaml["static_resources"]["listeners"]
    }
    assert {p["containerPort"] for p in envoy["ports"]} == listeners


def _listener(envoy_yaml: Json, name: str) -> Json:
    listener: Json = next(item for item in envoy_yaml["static_resources"]["listeners"] if item["name"] == name)
    return listener


def test_envoys_stats_listener_is_the_metrics_port(overlay: tuple[str, list[Json]]) -> None:
    """Envoy's /stats/prometheus (scripts/envoy_stats.py) on the pod port `metrics`, never on the Service."""
    _, docs = overlay
    envoy_yaml = yaml.safe_load(_config(docs, "wuffchat-envoy")["data"]["envoy.yaml"])
    host, _, port = k8s.ENVOY_STATS.rpartition(":")
    assert (host, int(port)) == ("0.0.0.0", 9902)
    stats = _listener(envoy_yaml, envoy_stats.LISTENER)
    assert stats["address"]["socket_address"] == {"address": host, "port_value": int(port)}
    admin = envoy_yaml["admin"]["address"]["socket_address"]
    assert admin["address"] == "127.0.0.1"  # the admin interface itself stays on loopback
    envoy = _objects(docs, "Deployment")["wuffchat-envoy"]["spec"]["template"]["spec"]["containers"][0]
    assert {p["name"]: p["containerPort"] for p in envoy["ports"]}["metrics"] == 9902
    service = _objects(docs, "Service")["wuffchat-envoy"]
    assert 9902 not in {p["port"] for p in service["spec"]["ports"]}
    assert "metrics" not in {p["targetPort"] for p in service["spec"]["ports"]}


def _admitted(docs: list[Json], app: str, port: int) -> list[list[Json] | None]:
    """The `from` lists of every ingress rule that admits `port` of the pods named `app` (None: anyone)."""
    found: list[list[Json] | None] = []
    for policy in _objects(docs, "NetworkPolicy").values():
        selector = policy["spec"]["podSelector"]
        if selector and selector.get("matchLabels", {}).get("app.kubernetes.io/name") != app:
            continue
        for rule in policy["spec"].get("ingress", []):
            ports = rule.get("ports")
            if ports is None or any(p["port"] == port for p in ports):
                found.append(rule.get("from"))
    return found


MONITORING = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]


def test_network_policies_admit_metrics_from_monitoring_only_and_nothing_to_the_health_port(
    overlay: tuple[str, list[Json]],
) -> None:
    _, docs = overlay
    assert _admitted(docs, "wuffchat-envoy", 9902) == [MONITORING]
    assert _admitted(docs, "wuffchat-server", 9464) == [MONITORING]
    assert _admitted(docs, "wuffchat-server", 8081) == []  # the kubelet probes from the node
    assert _admitted(docs, "wuffchat-envoy", 8443) == [None]  # callers from anywhere


def test_run_as_user_is_the_images_user(overlay: tuple[str, list[Json]]) -> None:
    _, docs = overlay
    server_uid = _dockerfile_uid(ROOT / "Dockerfile")
    envoy_uid = _dockerfile_uid(ROOT / "deploy" / "envoy" / "Dockerfile")
    for name, spec in _pod_specs(docs):
        uid = envoy_uid if name == "wuffchat-envoy" else server_uid
        assert spec["securityContext"]["runAsUser"] == uid
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["runAsUser"] == uid
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert container["resources"]["requests"] and container["resources"]["limits"]


def test_the_server_accepts_each_overlays_configuration(overlay: tuple[str, list[Json]], tmp_path: Path) -> None:
    """The settings model loads what the Deployment sets, with the Secrets' files made here (prod checks too)."""
    name, docs = overlay
    pki = make_pki(tmp_path)
    contents = {
        "secret-key": secrets.token_urlsafe(48),
        "data-keys": f"1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
        # prod: TLS that checks the database's certificate; the CA lies in the same Secret (README, Kubernetes).
        "database-url": "postgresql+asyncpg://wuffchat:pw@postgres.postgres.svc:5432/wuffchat"
        f"?sslmode=verify-full&sslrootcert={pki.ca}",
        "redis-url": "redis://redis.redis.svc:6379/0",
        "api-keys": f"billing:service:{secrets.token_urlsafe(40)}",
        "openai-api-key": f"sk-{secrets.token_urlsafe(40)}",
        "tls.crt": pki.server_cert.read_text(),
        "tls.key": pki.server_key.read_text(),
        "ca.crt": pki.ca.read_text(),
    }
    container = _objects(docs, "Deployment")["wuffchat-server"]["spec"]["template"]["spec"]["containers"][0]
    env = _server_env(docs, container)
    for variable, value in list(env.items()):
        if variable.endswith("_FILE"):
            path = tmp_path / Path(value).name
            path.write_text(contents[Path(value).name], encoding="utf-8")
            env[variable] = str(path)
    settings = load_settings(env)
    assert settings.app_env == ("prod" if name == "prod" else "dev")


def test_each_overlays_envoy_config_is_rendered_from_the_current_template(overlay: tuple[str, list[Json]]) -> None:
    """deploy/k8s/overlays/<env>/envoy/ is what `make k8s-config` writes now (envoy.yaml, origins, web files)."""
    name, _ = overlay
    if not (k8s.render_envoy.WEB_DIST / "index.html").is_file():
        pytest.skip("the web client is not built (`make web`); its files are part of the configuration")
    assert k8s.committed_envoy(name) == k8s.envoy_files(name), "stale: run `make k8s-config`"


def test_the_pod_outlives_the_servers_drain_and_grace(overlay: tuple[str, list[Json]]) -> None:
    """Kubernetes kills after terminationGracePeriodSeconds: the drain (health NOT_SERVING while still
    serving, so Envoy stops routing) and the grace for in-flight calls must both fit before that."""
    _, docs = overlay
    for name, spec in _pod_specs(docs):
        container = spec["containers"][0]
        if container["name"] != "server":
            continue
        env = _server_env(docs, container)
        drain, grace = float(env["SHUTDOWN_DRAIN_SECONDS"]), float(env["SHUTDOWN_GRACE_SECONDS"])
        assert drain > 0, name
        assert spec["terminationGracePeriodSeconds"] > drain + grace, name
