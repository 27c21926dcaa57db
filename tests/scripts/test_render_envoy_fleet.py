"""scripts/render_envoy.py in fleet mode (scripts/envoy_fleet.py): N endpoints, health checks, outlier
detection, and retries that follow the contracts' idempotency_level."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from interceptors.policy import POLICIES
from scripts.envoy_fleet import HEALTH_CHECK_PATH, IDEMPOTENT_RETRY_ON, UNSENT_RETRY_ON
from scripts.render_envoy import TEMPLATE, RenderError, main, options_from_env, render
from tests.support.envoy import validate

Json = dict[str, Any]
FLEET = "127.0.0.1:50061,127.0.0.1:50062,0.0.0.0:50063"


def _rendered(environ: dict[str, str]) -> Json:
    config: Json = render(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8")), options_from_env("dev", environ))
    return config


def _routes(config: Json) -> list[Json]:
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    routes: list[Json] = hcm["route_config"]["virtual_hosts"][0]["routes"]
    return routes


def test_a_fleet_is_one_round_robin_cluster_with_health_checks_and_outlier_detection() -> None:
    cluster = _rendered({"ENVOY_UPSTREAMS": FLEET})["static_resources"]["clusters"][0]
    addresses = [
        e["endpoint"]["address"]["socket_address"] for e in cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    ]
    assert addresses == [
        {"address": "127.0.0.1", "port_value": 50061},
        {"address": "127.0.0.1", "port_value": 50062},
        {"address": "127.0.0.1", "port_value": 50063},  # a wildcard means this host
    ]
    assert cluster["lb_policy"] == "ROUND_ROBIN"
    assert cluster["type"] == "STATIC"
    (check,) = cluster["health_checks"]
    assert check["grpc_health_check"] == {"service_name": ""}
    assert check["no_traffic_interval"] == check["interval"]  # not once a minute while idle
    assert cluster["outlier_detection"]["consecutive_gateway_failure"] >= 1
    assert cluster["outlier_detection"]["consecutive_5xx"] >= 1
    assert cluster["common_lb_config"]["healthy_panic_threshold"] == {"value": 0}
    # not Envoy's default of 3 concurrent retries, which one instance's in-flight calls exceed
    assert cluster["circuit_breakers"]["thresholds"][0]["retry_budget"]["min_retry_concurrency"] >= 16


def test_only_methods_without_side_effects_are_retried_after_they_may_have_run() -> None:
    routes = _routes(_rendered({"ENVOY_UPSTREAMS": FLEET}))
    retried = {
        r["match"]["path"]: r["route"]["retry_policy"]["retry_on"]
        for r in routes
        if "path" in r["match"] and "route" in r
    }
    idempotent = {path for path, policy in POLICIES.items() if policy.idempotent}
    assert idempotent and {"/wuffchat.auth.v1.AuthService/Login"} - idempotent  # the contracts say so
    assert set(retried) == idempotent | {HEALTH_CHECK_PATH}
    assert set(retried.values()) == {IDEMPOTENT_RETRY_ON}
    assert "unavailable" in IDEMPOTENT_RETRY_ON and "reset" in IDEMPOTENT_RETRY_ON
    # Every other gRPC call (Login, SendMessage, ...) reaches the catch-all: retried only when never sent.
    catch_all = next(r for r in routes if r["match"].get("prefix") == "/" and "route" in r and r["match"]["headers"])
    assert catch_all["route"]["retry_policy"]["retry_on"] == UNSENT_RETRY_ON
    assert "reset" not in UNSENT_RETRY_ON and "unavailable" not in UNSENT_RETRY_ON
    assert routes.index(catch_all) > max(routes.index(r) for r in routes if r["match"].get("path") in retried)
    for route in routes:
        if route["match"].get("path") in retried:  # gRPC only, same route action as the catch-all
            assert route["match"]["headers"] == catch_all["match"]["headers"]
            assert route["route"]["cluster"] == catch_all["route"]["cluster"]


def test_one_upstream_renders_as_before() -> None:
    config = _rendered({})
    cluster = config["static_resources"]["clusters"][0]
    assert "health_checks" not in cluster and "outlier_detection" not in cluster
    assert not any("retry_policy" in r.get("route", {}) for r in _routes(config))


@pytest.mark.parametrize("raw", ["127.0.0.1:1,127.0.0.1:1", "127.0.0.1", "127.0.0.1:1,nonsense"])
def test_bad_upstreams_name_the_variable(raw: str) -> None:
    with pytest.raises(RenderError, match="ENVOY_UPSTREAMS"):
        options_from_env("dev", {"ENVOY_UPSTREAMS": raw})


def test_main_fleet_flag_renders_a_configuration_envoy_accepts(tmp_path: Path) -> None:
    out = tmp_path / "envoy-fleet.yaml"
    assert main(["--env", "dev", "--out", str(out), "--fleet", FLEET]) == 0
    assert (
        len(
            yaml.safe_load(out.read_text())["static_resources"]["clusters"][0]["load_assignment"]["endpoints"][0][
                "lb_endpoints"
            ]
        )
        == 3
    )
    result = validate(out)
    assert result.returncode == 0, result.stdout + result.stderr
