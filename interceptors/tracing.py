"""OpenTelemetry server spans, first in the chain: one SERVER span per call, continuing the caller's trace.

Outermost, so every later step runs inside the span: the per-call log line and every other line
written during the call carry its `trace_id` (server/log.py), and the child spans of the database,
Redis, retrieval and the responder hang below it. A W3C `traceparent` (and `tracestate`) in the
metadata continues the caller's trace (Envoy starts one when the browser sends none); without one
the span starts a new trace. Attributes follow the OpenTelemetry RPC conventions (`rpc.system`,
`rpc.service`, `rpc.method`, `rpc.grpc.status_code`); codes that mean a server fault set the span's
status to ERROR, the others (client errors) leave it unset, as the conventions ask for servers.
The tracer comes in (server/tracing.py builds it from OTEL_*); the chain leaves the step out when
tracing is off.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import Token
from typing import Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from .base import Context, Outcome, Recording, RpcInfo

# server faults per the OpenTelemetry gRPC conventions; other codes are the caller's
_SERVER_ERRORS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)
_PROPAGATOR = TraceContextTextMapPropagator()


class _MetadataGetter(Getter[Sequence[tuple[str, Any]]]):
    def get(self, carrier: Sequence[tuple[str, Any]], key: str) -> list[str] | None:
        found = [value for name, value in carrier if name == key and isinstance(value, str)]
        return found or None

    def keys(self, carrier: Sequence[tuple[str, Any]]) -> list[str]:
        return [name for name, _ in carrier]


_GETTER = _MetadataGetter()


def _parent(context: Context) -> otel_context.Context | None:
    carrier = tuple(context.invocation_metadata() or ())
    if not any(name == "traceparent" for name, _ in carrier):
        return None
    return _PROPAGATOR.extract(carrier, getter=_GETTER)


_Span = tuple[trace.Span, Token[otel_context.Context]]  # the call's span and the token of its attached context


class TracingInterceptor(Recording[_Span]):
    """A SERVER span per call on `tracer`; see the module docstring."""

    def __init__(self, tracer: trace.Tracer) -> None:
        super().__init__()
        self._tracer = tracer

    def begin(self, info: RpcInfo, context: Context) -> _Span:
        """Start the span and make it current for the rest of the call."""
        service, _, method = info.method.lstrip("/").rpartition("/")
        span = self._tracer.start_span(
            info.method.lstrip("/"),
            context=_parent(context),
            kind=trace.SpanKind.SERVER,
            attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": method},
        )
        return span, otel_context.attach(trace.set_span_in_context(span))

    def end(self, record: _Span, outcome: Outcome) -> None:
        span, token = record
        otel_context.detach(token)
        code = outcome.code
        span.set_attribute("rpc.grpc.status_code", code.value[0])
        if code in _SERVER_ERRORS:
            span.set_status(trace.Status(trace.StatusCode.ERROR, code.name))
            if outcome.exception is not None:
                span.record_exception(outcome.exception)
        span.end()
