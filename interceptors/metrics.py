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

from collections.abc import AsyncIterator
from typing import Any

import grpc

from rpc import call
from rpc.metrics import CAPTCHA_INVALID, RATE_LIMITED, Metrics

from .base import Context, Outcome, Recording, RpcInfo

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
    """The label children of one method (resolved on its first call)."""

    __slots__ = (
        "codes",
        "handled",
        "labels",
        "method",
        "metrics",
        "received",
        "seconds",
        "sent",
        "server_streaming",
        "service",
        "started",
    )

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
        self.server_streaming = info.server_streaming

    def done(self, outcome: Outcome) -> None:
        self.seconds.observe(outcome.duration)
        code = GO_CODE_NAMES.get(outcome.code.name, "Unknown")
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


class MetricsInterceptor(Recording[_MethodMetrics]):
    """Counts and times every call on `metrics`; see the module docstring."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self._metrics = metrics
        self._methods: dict[RpcInfo, _MethodMetrics] = {}

    def begin(self, info: RpcInfo, context: Context) -> _MethodMetrics:
        """Count the call as started."""
        m = self._methods.get(info)
        if m is None:
            m = self._methods[info] = _MethodMetrics(self._metrics, info)
        m.started.inc()
        return m

    def requests(self, record: _MethodMetrics, info: RpcInfo, request: Any) -> Any:
        """Count the request, or each request of a client stream as it arrives."""
        if info.client_streaming:
            return _counted(request, record)
        record.received.inc()
        return request

    def responded(self, record: _MethodMetrics) -> None:
        record.sent.inc()

    def end(self, record: _MethodMetrics, outcome: Outcome) -> None:
        if not record.server_streaming and outcome.code is grpc.StatusCode.OK:
            record.sent.inc()  # the one response of a unary call
        record.done(outcome)


async def _counted(requests: AsyncIterator[Any], m: _MethodMetrics) -> AsyncIterator[Any]:
    async for request in requests:
        m.received.inc()
        yield request
