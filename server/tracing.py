"""OpenTelemetry tracing from OTEL_*: the process's tracer provider and exporter, or nothing (the default).

`configure(settings)` returns the tracer for the chain's SERVER spans (interceptors/tracing.py) when
`ObservabilitySettings.tracing` names an exporter, after making its provider the process's (child spans,
rpc/tracing.py, go to it too); None when tracing is off, and then no span is ever made. The OTLP
exporter speaks OTLP/gRPC to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`;
spans leave in batches (BatchSpanProcessor, tuned by the standard `OTEL_BSP_*` variables) and
`shutdown()` sends what is left. The sampler (`OTEL_TRACES_SAMPLER`, default parentbased_always_on),
resource attributes and the exporter's headers and certificates are the SDK's own `OTEL_*` variables.
A provider exists once per process: a second `configure` (tests start several servers) reuses it.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from server.config import ObservabilitySettings

TRACER_NAME = "wuffchat.server"


def _exporter(settings: ObservabilitySettings) -> SpanExporter:
    if settings.tracing == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    endpoint = settings.otlp_traces_endpoint or settings.otlp_endpoint
    # http:// means plaintext gRPC, https:// TLS (the exporter decides by the scheme)
    return OTLPSpanExporter(endpoint=endpoint) if endpoint else OTLPSpanExporter()


def configure(settings: ObservabilitySettings) -> trace.Tracer | None:
    """The SERVER spans' tracer, or None when tracing is off (see the module docstring)."""
    if settings.tracing == "none":
        return None
    current = trace.get_tracer_provider()
    if not isinstance(current, TracerProvider):
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.service_name}))
        provider.add_span_processor(BatchSpanProcessor(_exporter(settings)))
        trace.set_tracer_provider(provider)
    return trace.get_tracer(TRACER_NAME)


def shutdown() -> None:
    """Export the spans still buffered and stop the exporter (the server's last step)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush()
