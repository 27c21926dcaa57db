"""Audit logging: one JSON line per call with the status the client got, for all four RPC kinds,
safe against forged lines; and the same line from the real `python -m server` process.

grpcio-testing cannot drive grpc.aio server interceptors, so the cases run on a real grpc.aio server.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc

from interceptors.audit import AuditInterceptor, printable
from interceptors.context import ContextInterceptor
from interceptors.errors import ErrorScrubbingInterceptor
from tests.support.echo import echo_server
from tests.support.principal import PrincipalFromMetadata, principal_header
from tests.support.process import start_server

FIELDS = {"timestamp", "request_id", "method", "principal", "client_ip", "status", "duration_ms", "user_agent"}


def _json_logger(sink: io.StringIO) -> Any:
    return structlog.wrap_logger(
        structlog.WriteLogger(sink),
        processors=[structlog.processors.TimeStamper(fmt="iso", utc=True), structlog.processors.JSONRenderer()],
    )


def _chain(sink: io.StringIO) -> list[Any]:
    return [
        ContextInterceptor(),
        AuditInterceptor(logger=_json_logger(sink)),
        ErrorScrubbingInterceptor(),
        PrincipalFromMetadata(),
    ]


def _records(sink: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in sink.getvalue().splitlines()]


async def _requests(*items: bytes) -> AsyncIterator[bytes]:
    for item in items:
        yield item


async def test_every_kind_logs_one_line_with_all_fields() -> None:
    sink = io.StringIO()
    async with echo_server(_chain(sink)) as channel:
        await channel.unary_unary("/test.Echo/Unary")(b"x", metadata=(principal_header("user", "u7"),))
        _ = [r async for r in channel.unary_stream("/test.Echo/ServerStream")(b"2")]
        await channel.stream_unary("/test.Echo/ClientStream")(_requests(b"a"))
        _ = [r async for r in channel.stream_stream("/test.Echo/Bidi")(_requests(b"a"))]
    records = _records(sink)
    assert [r["method"] for r in records] == [
        "/test.Echo/Unary",
        "/test.Echo/ServerStream",
        "/test.Echo/ClientStream",
        "/test.Echo/Bidi",
    ]
    for record in records:
        assert set(record) >= FIELDS and record["event"] == "rpc"
        assert record["status"] == "OK" and record["client_ip"] == "127.0.0.1"
        assert record["timestamp"].endswith("Z") and record["duration_ms"] >= 0
        assert record["user_agent"].startswith("grpc-python")
    assert records[0]["principal"] == "user:u7"
    assert records[1]["principal"] is None


async def test_unary_logs_the_scrubbed_status() -> None:
    sink = io.StringIO()
    async with echo_server(_chain(sink)) as channel:
        with pytest.raises(grpc.aio.AioRpcError):
            await channel.unary_unary("/test.Echo/Unary")(b"boom")
    [record] = _records(sink)
    assert record["status"] == "INTERNAL"
    assert "secret" not in sink.getvalue()


async def test_stream_failing_mid_way_logs_internal_once() -> None:
    sink = io.StringIO()
    async with echo_server(_chain(sink)) as channel:
        with pytest.raises(grpc.aio.AioRpcError):
            _ = [r async for r in channel.unary_stream("/test.Echo/ServerStream")(b"3!")]
    assert [r["status"] for r in _records(sink)] == ["INTERNAL"]


async def test_unary_forged_json_in_user_agent_stays_one_field() -> None:
    sink = io.StringIO()
    forged = 'x", "status": "OK", "principal": "user:admin'
    async with echo_server(_chain(sink), channel_options=[("grpc.primary_user_agent", forged)]) as channel:
        await channel.unary_unary("/test.Echo/Unary")(b"x")
    [record] = _records(sink)
    assert forged in record["user_agent"]
    assert record["principal"] is None


def test_printable_escapes_line_breaks() -> None:
    escaped = printable("a\nb\u2028c\x1bd")
    assert escaped == "a\\u000ab\\u2028c\\u001bd"
    assert len(escaped.splitlines()) == 1


async def test_real_process_writes_the_rpc_line(tmp_path: Path) -> None:
    proc = start_server({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/a.db"})
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{proc.port}") as channel:
            await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), metadata=(("x-request-id", "req-audit-0001"),)
            )
        assert proc.process.stdout is not None
        for _ in range(50):
            line = await asyncio.wait_for(asyncio.to_thread(proc.process.stdout.readline), 10)
            record = json.loads(line)
            if record.get("event") == "rpc":
                break
    finally:
        proc.close()
    assert set(record) >= FIELDS
    assert record["request_id"] == "req-audit-0001"
    assert record["method"] == "/grpc.health.v1.Health/Check"
    assert record["status"] == "OK"
