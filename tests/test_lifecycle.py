"""Start-up and shutdown of the real process: SIGTERM drains, bad ports and databases fail clearly."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.auth import api_key
from tests.support.net import free_port
from tests.support.process import run_server, start_server
from tests.support.prod import prod_env
from tests.support.servers import Servers

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_sigterm_turns_health_not_serving_and_exits_0(tmp_path: Path) -> None:
    proc = start_server({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/s.db", "SHUTDOWN_GRACE_SECONDS": "1"})
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{proc.port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            assert (await stub.Check(health_pb2.HealthCheckRequest())).status == SERVING
            watch = stub.Watch(health_pb2.HealthCheckRequest())
            assert (await watch.read()).status == SERVING
            proc.process.send_signal(signal.SIGTERM)
            assert (await asyncio.wait_for(watch.read(), 5)).status == NOT_SERVING
        code = await asyncio.to_thread(proc.process.wait, 15)
        assert code == 0
    finally:
        proc.close()


def _slow_handler(started: asyncio.Event) -> grpc.GenericRpcHandler:
    async def sleep(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        started.set()
        await asyncio.sleep(0.5)
        return b"done"

    return grpc.method_handlers_generic_handler("test.Slow", {"Sleep": grpc.unary_unary_rpc_method_handler(sleep)})


async def test_unary_in_flight_call_finishes_within_grace(servers: Servers) -> None:
    started = asyncio.Event()
    async with servers.serving(extra_handlers=[_slow_handler(started)]) as (running, channel):
        sleep = channel.unary_unary("/test.Slow/Sleep")
        in_flight = asyncio.ensure_future(sleep(b"", metadata=api_key()))
        await started.wait()
        stopping = asyncio.create_task(running.stop(5.0))
        assert await in_flight == b"done"
        await stopping
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await sleep(b"", timeout=2, metadata=api_key())
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_sigterm_with_a_drain_serves_calls_while_health_is_not_serving(tmp_path: Path) -> None:
    """SHUTDOWN_DRAIN_SECONDS: health says NOT_SERVING first, calls are still answered (a load balancer
    checking health stops sending them meanwhile), then the server stops and exits 0."""
    proc = start_server(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/s.db",
            "SHUTDOWN_DRAIN_SECONDS": "1.5",
            "SHUTDOWN_GRACE_SECONDS": "1",
        }
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{proc.port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            watch = stub.Watch(health_pb2.HealthCheckRequest())
            assert (await watch.read()).status == SERVING
            proc.process.send_signal(signal.SIGTERM)
            assert (await asyncio.wait_for(watch.read(), 5)).status == NOT_SERVING
            during = await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)  # a call, answered
            assert during.status == NOT_SERVING
            assert proc.process.poll() is None
        code = await asyncio.to_thread(proc.process.wait, 15)
        assert code == 0
    finally:
        proc.close()


@pytest.fixture
async def occupied_port() -> AsyncIterator[int]:
    port = free_port()
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
    yield port
    blocker.close()


def test_port_in_use_exits_1(occupied_port: int, tmp_path: Path) -> None:
    result = run_server(
        {"GRPC_ADDR": f"127.0.0.1:{occupied_port}", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/p.db"}
    )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{occupied_port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_exits_1_after_budget() -> None:
    url = f"postgresql+asyncpg://wuffchat:secret-pw@127.0.0.1:{free_port()}/wuffchat"
    env = prod_env(DATABASE_URL=url, DB_STARTUP_TIMEOUT_SECONDS="1")
    result = run_server(env, timeout=30)
    assert result.returncode == 1
    assert "database unreachable" in result.stderr
    assert "secret-pw" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
