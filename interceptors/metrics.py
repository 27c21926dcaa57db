"""Prometheus metrics, third in the chain: the standard gRPC server metrics and the refusals by reason.

It sits inside the context interceptor (the call state carries the refusal reason that
`rpc.errors.abort` notes) and outside audit and error scrubbing, so the code it counts is the one the
client gets and its latency covers every later step. Per call it counts `grpc_server_started_total`,
`grpc_server_handled_total{grpc_code}` (codes spelt as Go's gRPC does: `OK`, `ResourceExhausted`),
`grpc_server_handling_seconds`, the messages received and sent (not those a handler writes with
`context.write`, as health Watch does: they pass no interceptor), and, when the server ended the
call with a reason, `wuffchat_rpc_refusals_total` plus the counters the alerts use (authentication
failures, rate-limit refusals, CAPTCHA failures). The metric objects come in (`rpc.metrics.Metrics`);
the label children of a method are resolved once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from rpc import call
from rpc.metrics import CAPTCHA_INVALID, RATE_LIMITED, Metrics

from .audit import final_status
from .base import Context, Interceptor, RpcInfo, StreamProceed, UnaryProceed

# grpc_code as go-grpc-prometheus writes it (Go's codes.Code.String()), which dashboards match on
GO_CODE_NAMES = {
    "OK": "OK",
    "CANCELLED": "Canceled",
    "UNKNOWN": "Unknown",
    "INVALID_ARGUMENT": "InvalidArgument",
    "DEADLINE_EXCEEDED": "DeadlineExceeded",
    "NOT_FOUND": "NotFound",
    "ALREADY_EXISTS": "AlreadyExists",
    "PERMISSION_DENIED": "PermissionDenied",
    "RESOURCE_EXHAUSTED": "ResourceExhausted",
    "FAILED_PRECONDITION": "FailedPrecondition",
    "ABORTED": "Aborted",
    "OUT_OF_RANGE": "OutOfRange",
    "UNIMPLEMENTED": "Unimplemented",
    "INTERNAL": "Internal",
    "UNAVAILABLE": "Unavailable",
    "DATA_LOSS": "DataLoss",
    "UNAUTHENTICATED": "Unauthenticated",
}


def _kind(info: RpcInfo) -> str:
    if info.client_streaming:
        return "bidi_stream" if info.server_streaming else "client_stream"
    return "server_stream" if info.server_streaming else "unary"


class _MethodMetrics:
    """The label children of one method (resolved once, when the chain composes the method)."""

    __slots__ = ("codes", "handled", "labels", "method", "metrics", "received", "seconds", "sent", "service", "started")

    def __init__(self, metrics: Metrics, info: RpcInfo) -> None:
        service, _, method = info.method.lstrip("/").rpartition("/")
        labels = (_kind(info), service, method)
        self.metrics, self.service, self.method = metrics, service, method
        self.started = metrics.started.labels(*labels)
        self.seconds = metrics.handling_seconds.labels(*labels)
        self.received = metrics.msg_received.labels(*labels)
        self.sent = metrics.msg_sent.labels(*labels)
        self.handled = metrics.handled
        self.codes: dict[str, Any] = {}
        self.codes["OK"] = metrics.handled.labels(*labels, "OK")
        self.labels = labels

    def done(self, status: str, started: float) -> None:
        self.seconds.observe(time.perf_counter() - started)
        code = GO_CODE_NAMES.get(status, "Unknown")
        child = self.codes.get(code)
        if child is None:
            child = self.codes[code] = self.handled.labels(*self.labels, code)
        child.inc()
        if code == "OK":
            return
        state = call.current_or_none()
        reason = state.refusal if state is not None else None
        if reason is None:
            return
        m = self.metrics
        m.refusals.labels(self.service, self.method, code, reason).inc()
        if code == "Unauthenticated":
            m.auth_failures.labels(self.method, reason).inc()
        elif reason == RATE_LIMITED:
            m.rate_limited.labels(self.service, self.method).inc()
        if reason == CAPTCHA_INVALID:
            m.captcha_failures.labels(self.method).inc()


class MetricsInterceptor(Interceptor):
    """Counts and times every call on `metrics`; see the module docstring."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self._metrics = metrics
        self._methods: dict[RpcInfo, _MethodMetrics] = {}

    def _for(self, info: RpcInfo) -> _MethodMetrics:
        found = self._methods.get(info)
        if found is None:
            found = self._methods[info] = _MethodMetrics(self._metrics, info)
        return found

    def _begin(self, info: RpcInfo, request: Any) -> tuple[_MethodMetrics, float, Any]:
        """Count the call as started and its request(s) as received; the request to pass on."""
        m = self._for(info)
        m.started.inc()
        if info.client_streaming:
            request = _counted(request, m)
        else:
            m.received.inc()
        return m, time.perf_counter(), request

    async def unary(self, info: RpcInfo, request: Any, context: Context, proceed: UnaryProceed) -> Any:
        m, started, request = self._begin(info, request)
        failure: BaseException | None = None
        try:
            response = await proceed(request, context)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            code = final_status(context, failure)
            if code == "OK":
                m.sent.inc()
            m.done(code, started)
        return response

    async def stream(self, info: RpcInfo, request: Any, context: Context, proceed: StreamProceed) -> AsyncIterator[Any]:
        m, started, request = self._begin(info, request)
        failure: BaseException | None = None
        try:
            async for response in proceed(request, context):
                m.sent.inc()
                yield response
        except BaseException as exc:
            failure = exc
            raise
        finally:
            m.done(final_status(context, failure), started)


async def _counted(requests: AsyncIterator[Any], m: _MethodMetrics) -> AsyncIterator[Any]:
    async for request in requests:
        m.received.inc()
        yield request
