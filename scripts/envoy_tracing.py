"""Envoy starts the trace (scripts/render_envoy.py): OpenTelemetry spans from the edge listener, exported
over OTLP/gRPC to the collector the server exports to, from the same standard `OTEL_*` variables.

With `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` set (and neither
`OTEL_SDK_DISABLED=true` nor an `OTEL_TRACES_EXPORTER` other than `otlp`), the edge connection manager
gets the `envoy.tracers.opentelemetry` tracer and a cluster of its own for the collector; without them
the rendering is exactly what it was without tracing. Envoy makes one SERVER span per request: the root
of a new trace when the caller sends no W3C `traceparent`, a child of the caller's span when it does,
and it forwards its own span as the server's parent (the router spawns no extra upstream span).

An `https://` collector is verified against `OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE` or
`OTEL_EXPORTER_OTLP_CERTIFICATE` when set, else the system CA bundle (Debian's path; Envoy has no
trust store of its own), for the endpoint's host name (SNI and a DNS or IP SAN). The sampler maps to
the connection manager's `random_sampling`: `always_on` 100 %, `always_off` 0 %, `traceidratio` its
`OTEL_TRACES_SAMPLER_ARG` (the `parentbased_` forms alike: Envoy keeps a caller's sampled flag anyway).
`OTEL_SERVICE_NAME` names the spans' service (default `wuffchat-envoy`; the server's default differs).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

try:
    from scripts import envoy_tls
except ModuleNotFoundError:  # run as `python scripts/render_envoy.py`: this folder is on sys.path
    import envoy_tls  # type: ignore[no-redef,import-not-found,unused-ignore]

Json = dict[str, Any]

CLUSTER = "opentelemetry_collector"
DEFAULT_SERVICE_NAME = "wuffchat-envoy"
SYSTEM_CA_FILE = Path("/etc/ssl/certs/ca-certificates.crt")  # Debian's bundle (package ca-certificates)
OTLP_GRPC_PORT = 4317
_SAMPLERS = {"always_on": 100.0, "always_off": 0.0, "traceidratio": None}


class TracingError(ValueError):
    """An OTEL_* variable cannot be rendered for Envoy; the message is one line naming it."""


@dataclass(frozen=True)
class Tracing:
    """Where Envoy sends its spans and how many requests it samples."""

    host: str
    port: int
    service_name: str = DEFAULT_SERVICE_NAME
    tls_ca: Path | None = None  # None: plaintext gRPC (an http:// endpoint)
    sampling_percent: float = 100.0


def _endpoint(environ: Mapping[str, str]) -> tuple[str, str] | None:
    for name in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        if raw := environ.get(name, "").strip():
            return name, raw
    return None


def _sampling(environ: Mapping[str, str]) -> float:
    raw = environ.get("OTEL_TRACES_SAMPLER", "").strip().lower() or "parentbased_always_on"
    sampler = raw.removeprefix("parentbased_")
    if sampler not in _SAMPLERS:
        raise TracingError(
            f"OTEL_TRACES_SAMPLER must be (parentbased_)always_on, always_off or traceidratio for Envoy, got {raw!r}"
        )
    fixed = _SAMPLERS[sampler]
    if fixed is not None:
        return fixed
    arg = environ.get("OTEL_TRACES_SAMPLER_ARG", "").strip() or "1.0"
    try:
        ratio = float(arg)
    except ValueError:
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        raise TracingError(f"OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, got {arg!r}")
    return ratio * 100


def _certificate(environ: Mapping[str, str]) -> Path:
    for name in ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"):
        if raw := environ.get(name, "").strip():
            try:
                return envoy_tls.readable(name, raw)
            except envoy_tls.TlsError as err:
                raise TracingError(str(err)) from None
    return SYSTEM_CA_FILE


def tracing_from_env(environ: Mapping[str, str]) -> Tracing | None:
    """The tracer's settings from the standard OTEL_* variables; None when tracing is off (see the module
    docstring).

    Raises:
        TracingError: the endpoint is not http[s]://host[:port], the sampler is one Envoy cannot follow,
            or a certificate file is unreadable.
    """
    found = _endpoint(environ)
    if found is None or environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() not in ("", "otlp"):
        return None
    name, raw = found
    url = urlsplit(raw)
    try:
        host, port = url.hostname, url.port or OTLP_GRPC_PORT
    except ValueError:  # a port that is no number or out of range
        host, port = None, 0
    if url.scheme not in ("http", "https") or not host:
        raise TracingError(f"{name} must be http[s]://host[:port] (OTLP/gRPC), got {raw!r}")
    return Tracing(
        host=host,
        port=port,
        service_name=environ.get("OTEL_SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME,
        tls_ca=_certificate(environ) if url.scheme == "https" else None,
        sampling_percent=_sampling(environ),
    )


def http_tracing(tracing: Tracing) -> Json:
    """The connection manager's `tracing` block: the OpenTelemetry tracer exporting to CLUSTER."""
    return {
        "random_sampling": {"value": tracing.sampling_percent},
        "provider": {
            "name": "envoy.tracers.opentelemetry",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig",
                "grpc_service": {"envoy_grpc": {"cluster_name": CLUSTER}, "timeout": "1s"},
                "service_name": tracing.service_name,
            },
        },
    }


def collector_cluster(tracing: Tracing) -> Json:
    """The collector's cluster: HTTP/2 (gRPC), TLS verified for the endpoint's host when it is https."""
    cluster: Json = {
        "name": CLUSTER,
        "type": "STATIC" if envoy_tls.is_ip(tracing.host) else "STRICT_DNS",
        "connect_timeout": "1s",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        },
        "load_assignment": {
            "cluster_name": CLUSTER,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {"socket_address": {"address": tracing.host, "port_value": tracing.port}}
                            }
                        }
                    ]
                }
            ],
        },
    }
    if tracing.tls_ca is not None:
        cluster["transport_socket"] = _tls(tracing.host, tracing.tls_ca)
    return cluster


def _tls(host: str, ca_file: Path) -> Json:
    san_type = "IP_ADDRESS" if envoy_tls.is_ip(host) else "DNS"
    context: Json = {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        "common_tls_context": {
            "tls_params": copy.deepcopy(envoy_tls.TLS_PARAMS),
            "alpn_protocols": ["h2"],
            "validation_context": {
                "trusted_ca": {"filename": str(ca_file)},
                "match_typed_subject_alt_names": [{"san_type": san_type, "matcher": {"exact": host}}],
            },
        },
    }
    if san_type == "DNS":
        context["sni"] = host
    return {"name": "envoy.transport_sockets.tls", "typed_config": context}
