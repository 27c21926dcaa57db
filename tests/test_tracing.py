"""OpenTelemetry traces at the gRPC boundary: SERVER spans per call with their children, W3C traceparent
continued; once in process with an in-memory exporter, once as `python -m server` exporting over OTLP/gRPC
to a local receiver that implements the collector's TraceService (opentelemetry-proto), with the trace
ids in its JSON lines."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from wuffchat.auth.v1 import auth_service_pb2 as auth_pb
from wuffchat.auth.v1 import auth_service_pb2_grpc
from wuffchat.conversation.v1 import conversation_service_pb2 as conv_pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc

from interceptors.chain import ChainDependencies, build_chain
from server.app import RunningServer
from tests.support.auth import SERVICE_KEY, api_key
from tests.support.otlp import Receiver, otlp_receiver
from tests.support.process import process_env, start_server
from tests.support.servers import Servers

SEND = "wuffchat.conversation.v1.ConversationService/SendMessage"


def _traceparent() -> tuple[str, str, str]:
    """A client's (traceparent header, trace id, span id), sampled."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider, made once (OpenTelemetry allows one), recording into memory."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    memory = InMemorySpanExporter()
    processor = SimpleSpanProcessor(memory)
    provider.add_span_processor(processor)
    yield memory
    memory.shutdown()  # the processor stays registered but exports nowhere from now on


@pytest.fixture
async def traced(
    servers: Servers, exporter: InMemorySpanExporter
) -> AsyncIterator[tuple[RunningServer, grpc.aio.Channel]]:
    async with servers.serving(tracer=trace.get_tracer("wuffchat.server")) as (running, channel):
        exporter.clear()
        yield running, channel


def _by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


async def _finished(exporter: InMemorySpanExporter, name: str) -> tuple[ReadableSpan, ...]:
    """The finished spans once one named `name` is among them: grpc.aio's abort sends the status
    before the handler's stack unwinds, so the client may see the answer before the span ends."""
    for _ in range(100):
        spans = exporter.get_finished_spans()
        if _by_name(spans, name):
            return spans
        await asyncio.sleep(0.02)
    return exporter.get_finished_spans()


async def test_unary_call_without_traceparent_starts_a_trace_with_rpc_attributes(
    traced: tuple[RunningServer, grpc.aio.Channel], exporter: InMemorySpanExporter
) -> None:
    _, channel = traced
    await auth_service_pb2_grpc.AuthServiceStub(channel).GetCaptcha(auth_pb.GetCaptchaRequest())
    [span] = _by_name(
        await _finished(exporter, "wuffchat.auth.v1.AuthService/GetCaptcha"), "wuffchat.auth.v1.AuthService/GetCaptcha"
    )
    assert span.kind == trace.SpanKind.SERVER and span.parent is None
    assert dict(span.attributes or {}) == {
        "rpc.system": "grpc",
        "rpc.service": "wuffchat.auth.v1.AuthService",
        "rpc.method": "GetCaptcha",
        "rpc.grpc.status_code": 0,
    }
    assert span.status.status_code == trace.StatusCode.UNSET


async def test_unary_traceparent_continues_the_trace_with_database_retrieval_and_responder_children(
    traced: tuple[RunningServer, grpc.aio.Channel], exporter: InMemorySpanExporter
) -> None:
    _, channel = traced
    stub = conversation_service_pb2_grpc.ConversationServiceStub(channel)
    started = await stub.StartConversation(conv_pb.StartConversationRequest(language="de"), metadata=api_key())
    header, trace_id, parent_id = _traceparent()
    exporter.clear()
    await stub.SendMessage(
        conv_pb.SendMessageRequest(conversation_id=started.conversation_id, text="Mein Hund bellt, wenn es klingelt"),
        metadata=(*api_key(), ("traceparent", header)),
    )
    spans = await _finished(exporter, SEND)
    [server_span] = _by_name(spans, SEND)
    assert server_span.context is not None and server_span.parent is not None
    assert format(server_span.context.trace_id, "032x") == trace_id  # the client's trace goes on
    assert format(server_span.parent.span_id, "016x") == parent_id and server_span.parent.is_remote
    in_trace = [s for s in spans if s.context is not None and s.context.trace_id == server_span.context.trace_id]
    names = {s.name for s in in_trace}
    assert {"db.select", "db.update", "retrieval.search", "responder.respond"} <= names, names
    ids = {s.context.span_id for s in in_trace if s.context is not None}
    for child in in_trace:
        if child is server_span:
            continue
        assert child.parent is not None and child.parent.span_id in ids, child.name  # a tree below the call
    db = _by_name(in_trace, "db.select")[0]
    assert db.kind == trace.SpanKind.CLIENT and db.parent is not None
    assert db.parent.span_id == server_span.context.span_id
    assert (db.attributes or {}).get("db.system") == "sqlite"
    retrieval = _by_name(in_trace, "retrieval.search")[0]
    assert (retrieval.attributes or {}).get("backend") == "embedded"


async def test_unary_client_error_leaves_status_unset_server_fault_marks_error(
    traced: tuple[RunningServer, grpc.aio.Channel], exporter: InMemorySpanExporter
) -> None:
    _, channel = traced
    stub = conversation_service_pb2_grpc.ConversationServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.SendMessage(
            conv_pb.SendMessageRequest(conversation_id="x" * 43, text="Mein Hund bellt"), metadata=api_key()
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    [span] = _by_name(await _finished(exporter, SEND), SEND)
    assert (span.attributes or {})["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert span.status.status_code == trace.StatusCode.UNSET


async def test_tracing_off_by_default_no_step(servers: Servers) -> None:
    used: list[list[object]] = []

    def recording(deps: ChainDependencies) -> list[object]:
        used.append(list(build_chain(deps)))
        return used[-1]  # type: ignore[return-value]

    async with servers.running(chain_factory=recording):  # type: ignore[arg-type]
        pass
    assert "TracingInterceptor" not in [type(step).__name__ for step in used[0]]


async def test_unary_spans_reach_an_otlp_receiver_and_trace_ids_are_in_the_json_lines(tmp_path: Path) -> None:
    async with otlp_receiver() as (receiver, collector_port):
        await _export_through_a_process(receiver, collector_port, tmp_path)


async def _export_through_a_process(receiver: Receiver, collector_port: int, tmp_path: Path) -> None:
    env = process_env(
        tmp_path,
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{collector_port}",
        OTEL_SERVICE_NAME="wuffchat-otlp-test",
        OTEL_BSP_SCHEDULE_DELAY="100",
        LOG_LEVEL="INFO",
    )
    proc = await asyncio.to_thread(start_server, env, timeout=60)
    try:
        header, trace_id, _ = _traceparent()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{proc.port}") as channel:
            stub = conversation_service_pb2_grpc.ConversationServiceStub(channel)
            await stub.StartConversation(
                conv_pb.StartConversationRequest(language="de"),
                metadata=(("x-api-key", SERVICE_KEY), ("traceparent", header)),
            )
        await receiver.wait_for(
            lambda spans: any(s.trace_id == trace_id and s.name.endswith("StartConversation") for s in spans)
        )
        proc.process.terminate()
        assert proc.process.stdout is not None
        rest = await asyncio.to_thread(proc.process.stdout.read)
        code = await asyncio.to_thread(proc.process.wait, 30)
    finally:
        proc.close()
    assert code == 0
    spans = [found for found in receiver.spans() if found[2] == trace_id]
    names = {name for _, name, _ in spans}
    assert "wuffchat.conversation.v1.ConversationService/StartConversation" in names
    assert "db.insert" in names, names
    assert {service for service, _, _ in spans} == {"wuffchat-otlp-test"}
    records = [json.loads(line) for line in [*proc.lines, *rest.splitlines()] if line.startswith("{")]
    [rpc_line] = [r for r in records if r.get("event") == "rpc" and str(r.get("method")).endswith("StartConversation")]
    assert rpc_line["trace_id"] == trace_id and len(str(rpc_line["span_id"])) == 16
    # third-party DEBUG lines stay below INFO (bm25s sets its own logger to DEBUG)
    assert not [line for line in [*proc.lines, *rest.splitlines()] if "Building index" in line]
