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

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from rpc import call

from .audit import final_status
from .base import Context, Interceptor, RpcInfo, StreamProceed, UnaryProceed

# server faults per the OpenTelemetry gRPC conventions; other codes are the caller's
_SERVER_ERRORS = frozenset({"UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"})
_CODES = {status.name: status.value[0] for status in grpc.StatusCode}
_PROPAGATOR = TraceContextTextMapPropagator()


class _MetadataGetter(Getter[Sequence[tuple[str, Any]]]):
    def get(self, carrier: Sequence[tuple[str, Any]], key: str) -> list[str] | None:
        found = [value for name, value in carrier if name == key and isinstance(value, str)]
        return found or None

    def keys(self, carrier: Sequence[tuple[str, Any]]) -> list[str]:
        return [name for name, _ in carrier]


_GETTER = _MetadataGetter()


def _parent(context: Context) -> otel_context.Context | None:
    metadata: Iterable[tuple[str, Any]] | None = call.received()
    if metadata is None:
        metadata = context.invocation_metadata() or ()
    carrier = tuple(metadata)
    if not any(name == "traceparent" for name, _ in carrier):
        return None
    return _PROPAGATOR.extract(carrier, getter=_GETTER)


class TracingInterceptor(Interceptor):
    """A SERVER span per call on `tracer`; see the module docstring."""

    def __init__(self, tracer: trace.Tracer) -> None:
        super().__init__()
        self._tracer = tracer

    def _start(self, info: RpcInfo, context: Context) -> trace.Span:
        service, _, method = info.method.lstrip("/").rpartition("/")
        return self._tracer.start_span(
            info.method.lstrip("/"),
            context=_parent(context),
            kind=trace.SpanKind.SERVER,
            attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": method},
        )

    @staticmethod
    def _end(span: trace.Span, context: Context, failure: BaseException | None) -> None:
        code = final_status(context, failure)
        span.set_attribute("rpc.grpc.status_code", _CODES.get(code, 2))
        if code in _SERVER_ERRORS:
            span.set_status(trace.Status(trace.StatusCode.ERROR, code))
        if failure is not None and code in _SERVER_ERRORS:
            span.record_exception(failure)
        span.end()

    async def unary(self, info: RpcInfo, request: Any, context: Context, proceed: UnaryProceed) -> Any:
        span = self._start(info, context)
        token = otel_context.attach(trace.set_span_in_context(span))
        failure: BaseException | None = None
        try:
            return await proceed(request, context)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            otel_context.detach(token)
            self._end(span, context, failure)

    async def stream(self, info: RpcInfo, request: Any, context: Context, proceed: StreamProceed) -> AsyncIterator[Any]:
        span = self._start(info, context)
        token = otel_context.attach(trace.set_span_in_context(span))
        failure: BaseException | None = None
        try:
            async for response in proceed(request, context):
                yield response
        except BaseException as exc:
            failure = exc
            raise
        finally:
            otel_context.detach(token)
            self._end(span, context, failure)
