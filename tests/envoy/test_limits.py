"""Envoy's bounds on connections and streams (issue 12 item 8): in every rendering and in the running Envoy.

Client side: idle connections closed, every connection drained at a maximum age and request count,
100 streams per HTTP/2 connection, header and whole-request deadlines, a cap on open connections.
Server side (the cluster): below the server's own limits (server/config/ defaults), so Envoy retires
a connection before the server would close it under a call.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
import yaml

from scripts.render_envoy import TEMPLATE, options_from_env, render
from server.config import EdgeSettings
from tests.envoy.test_validate import ENVIRONMENTS, environment
from tests.support.envoy import EnvoyProcess
from tests.support.pki import Pki


def _seconds(duration: str) -> float:
    assert duration.endswith("s"), duration
    return float(duration[:-1])


def _hcm(config: dict[str, Any]) -> dict[str, Any]:
    return config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]  # type: ignore[no-any-return]


def _cluster_protocol(config: dict[str, Any]) -> dict[str, Any]:
    options = config["static_resources"]["clusters"][0]["typed_extension_protocol_options"]
    return options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_rendered_config_bounds_client_connections(env: str, edge_pki: Pki) -> None:
    options = options_from_env(env, environment(env, edge_pki))
    config = render(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8")), options)
    hcm = _hcm(config)
    common = hcm["common_http_protocol_options"]
    assert _seconds(common["idle_timeout"]) == 900
    assert _seconds(common["max_connection_duration"]) == 1800
    assert common["max_requests_per_connection"] == 10000
    assert hcm["http2_protocol_options"]["max_concurrent_streams"] == 100
    assert _seconds(hcm["request_headers_timeout"]) == 10
    assert _seconds(hcm["request_timeout"]) == 30
    monitor = config["overload_manager"]["resource_monitors"][0]
    assert monitor["typed_config"]["max_active_downstream_connections"] == 10000


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_rendered_cluster_stays_below_the_server_limits(env: str, edge_pki: Pki) -> None:
    options = options_from_env(env, environment(env, edge_pki))
    config = render(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8")), options)
    protocol = _cluster_protocol(config)
    server = EdgeSettings()  # the server's defaults
    streams = protocol["explicit_http_config"]["http2_protocol_options"]["max_concurrent_streams"]
    assert streams <= server.max_streams_per_connection
    assert _seconds(protocol["common_http_protocol_options"]["idle_timeout"]) < server.max_connection_idle_seconds
    duration = _seconds(protocol["common_http_protocol_options"]["max_connection_duration"])
    assert duration < server.max_connection_age_seconds


def test_running_envoy_applies_the_bounds(envoy: EnvoyProcess) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{envoy.admin_port}/config_dump", timeout=5) as response:
        dump = json.dumps(json.load(response))
    assert '"max_connection_duration": "1800s"' in dump
    assert '"max_requests_per_connection": 10000' in dump
    assert '"max_connection_duration": "1500s"' in dump  # the cluster's
