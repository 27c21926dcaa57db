"""Envoy's own metrics: ENVOY_STATS_ADDR renders a listener that serves only GET /stats/prometheus from the
admin interface (scripts/envoy_stats.py), checked against the real Envoy."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from scripts.render_envoy import TEMPLATE, Address, EdgeOptions, options_from_env, render
from tests.support.envoy import EnvoyProcess, start_envoy
from tests.support.net import free_port


@pytest.fixture
def stats_envoy(tmp_path: Path) -> Iterator[tuple[EnvoyProcess, int]]:
    port = free_port()
    running = start_envoy(free_port(), tmp_path, options=EdgeOptions(stats=Address("127.0.0.1", port)))
    yield running, port
    running.close()


async def test_stats_listener_serves_prometheus_text_and_nothing_else(stats_envoy: tuple[EnvoyProcess, int]) -> None:
    envoy, port = stats_envoy
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        stats = await client.get("/stats/prometheus")
        others = [
            (await client.get(path)).status_code for path in ("/stats", "/config_dump", "/", "/stats/prometheus/")
        ]
        post = await client.post("/stats/prometheus")
        drain = await client.post("/drain_listeners")
    assert stats.status_code == 200
    samples = {sample.name for family in text_string_to_metric_families(stats.text) for sample in family.samples}
    assert "envoy_cluster_upstream_cx_total" in samples and "envoy_server_live" in samples
    assert others == [404, 404, 404, 404]
    assert (post.status_code, drain.status_code) == (404, 404)
    await asyncio.sleep(0)
    assert envoy.process.poll() is None


def test_env_variable_renders_the_listener_and_the_admin_cluster() -> None:
    for value in ("", "off"):
        options = options_from_env("dev", {"ENVOY_STATS_ADDR": value}, static_dir=None)
        assert options.stats is None
    options = options_from_env("dev", {"ENVOY_STATS_ADDR": "127.0.0.1:9902"}, static_dir=None)
    assert options.stats == Address("127.0.0.1", 9902)
    rendered = render(_template(), options)
    names = [listener["name"] for listener in rendered["static_resources"]["listeners"]]
    assert names == ["edge", "stats"]
    admin = rendered["static_resources"]["clusters"][-1]
    assert admin["name"] == "envoy_admin"
    address = admin["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert address == {"socket_address": {"address": "127.0.0.1", "port_value": 9901}}


def _template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    return loaded
