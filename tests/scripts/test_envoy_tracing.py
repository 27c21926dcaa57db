"""scripts/envoy_tracing.py through scripts/render_envoy.py: Envoy's OpenTelemetry tracer from OTEL_*, and a
rendering without an OTLP endpoint (or with tracing switched off) byte for byte what it was before.
Envoy with the tracer, exporting for real: tests/envoy/test_tracing.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.envoy_tracing import CLUSTER, SYSTEM_CA_FILE
from scripts.render_envoy import TEMPLATE, RenderError, options_from_env, render, write
from tests.support.envoy import validate
from tests.support.pki import Pki, make_pki

Json = dict[str, Any]
ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("tracing-pki"))


def _rendered(environ: dict[str, str], env: str = "dev") -> Json:
    template = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    config: Json = render(template, options_from_env(env, environ, static_dir=None))
    return config


def _written(environ: dict[str, str], out: Path) -> bytes:
    options = options_from_env("dev", environ, static_dir=None)
    write(render(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8")), options), out, options)
    return out.read_bytes()


def _edge_hcm(config: Json) -> Json:
    listener = next(item for item in config["static_resources"]["listeners"] if item["name"] == "edge")
    hcm: Json = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return hcm


def _cluster(config: Json) -> Json:
    return next(item for item in config["static_resources"]["clusters"] if item["name"] == CLUSTER)


@pytest.mark.parametrize(
    "environ",
    [
        {"OTEL_SERVICE_NAME": "edge", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.5"},
        {**ENDPOINT, "OTEL_SDK_DISABLED": "true"},
        {**ENDPOINT, "OTEL_TRACES_EXPORTER": "none"},
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4317", "OTEL_SDK_DISABLED": "TRUE"},
    ],
)
def test_without_an_endpoint_or_switched_off_the_file_is_byte_for_byte_the_plain_one(
    environ: dict[str, str], tmp_path: Path
) -> None:
    plain = _written({}, tmp_path / "plain.yaml")
    assert _written(environ, tmp_path / "other.yaml") == plain
    assert b"opentelemetry" not in plain and b"tracing" not in plain.split(b"\n", 1)[1]


def test_an_endpoint_puts_the_tracer_on_the_edge_listener_only() -> None:
    config = _rendered({**ENDPOINT, "ENVOY_STATS_ADDR": "127.0.0.1:9902"})
    tracing = _edge_hcm(config)["tracing"]
    assert tracing["random_sampling"] == {"value": 100.0}
    provider = tracing["provider"]
    assert provider["name"] == "envoy.tracers.opentelemetry"
    assert provider["typed_config"]["service_name"] == "wuffchat-envoy"
    assert provider["typed_config"]["grpc_service"]["envoy_grpc"] == {"cluster_name": CLUSTER}
    stats = next(item for item in config["static_resources"]["listeners"] if item["name"] == "stats")
    assert "tracing" not in stats["filter_chains"][0]["filters"][0]["typed_config"]
    cluster = _cluster(config)
    assert cluster["type"] == "STATIC" and "transport_socket" not in cluster
    address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert address == {"socket_address": {"address": "127.0.0.1", "port_value": 4317}}
    assert "http2_protocol_options" in str(cluster["typed_extension_protocol_options"])


def test_the_traces_endpoint_and_service_name_win(pki: Pki) -> None:
    config = _rendered(
        {
            **ENDPOINT,
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://otel.example.com",
            "OTEL_SERVICE_NAME": "edge-eu",
        }
    )
    assert _edge_hcm(config)["tracing"]["provider"]["typed_config"]["service_name"] == "edge-eu"
    cluster = _cluster(config)
    assert cluster["type"] == "STRICT_DNS"
    address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert (address["address"], address["port_value"]) == ("otel.example.com", 4317)
    context = cluster["transport_socket"]["typed_config"]
    assert context["sni"] == "otel.example.com"
    validation = context["common_tls_context"]["validation_context"]
    assert validation["trusted_ca"] == {"filename": str(SYSTEM_CA_FILE)}
    assert validation["match_typed_subject_alt_names"] == [
        {"san_type": "DNS", "matcher": {"exact": "otel.example.com"}}
    ]


def test_an_https_collector_is_verified_against_the_given_certificate_and_envoy_accepts_it(
    pki: Pki, tmp_path: Path
) -> None:
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_CERTIFICATE": str(pki.ca)}
    context = _cluster(_rendered(environ))["transport_socket"]["typed_config"]
    validation = context["common_tls_context"]["validation_context"]
    assert validation["trusted_ca"] == {"filename": str(pki.ca.resolve())}
    assert validation["match_typed_subject_alt_names"][0]["san_type"] == "IP_ADDRESS" and "sni" not in context
    out = tmp_path / "envoy.yaml"
    _written(environ, out)
    checked = validate(out)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("sampler", "arg", "percent"),
    [
        ("always_on", "", 100.0),
        ("parentbased_always_on", "", 100.0),
        ("always_off", "", 0.0),
        ("parentbased_always_off", "", 0.0),
        ("traceidratio", "0.25", 25.0),
        ("parentbased_traceidratio", "0.01", 1.0),
        ("TraceIdRatio", "", 100.0),
    ],
)
def test_the_sampler_maps_to_random_sampling(sampler: str, arg: str, percent: float) -> None:
    config = _rendered({**ENDPOINT, "OTEL_TRACES_SAMPLER": sampler, "OTEL_TRACES_SAMPLER_ARG": arg})
    assert _edge_hcm(config)["tracing"]["random_sampling"] == {"value": pytest.approx(percent)}


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "grpc://c:4317"}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:99999"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        ({**ENDPOINT, "OTEL_TRACES_SAMPLER": "jaeger_remote"}, "OTEL_TRACES_SAMPLER"),
        (
            {**ENDPOINT, "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
            "OTEL_TRACES_SAMPLER_ARG",
        ),
        (
            {**ENDPOINT, "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "x"},
            "OTEL_TRACES_SAMPLER_ARG",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": "/nonexistent.pem"},
            "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        ),
    ],
)
def test_bad_input_names_the_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(RenderError, match=variable):
        options_from_env("dev", environ)
