"""HEALTH_ADDR (server/health_port.py): a real server with a real plaintext health port beside its main port.

The same servicer answers on both (every service's status identical, NOT_SERVING during the shutdown
drain while the main port still serves), every other method is UNIMPLEMENTED there, and with
`--workers` (a real `python -m server` process) every worker serves it on one port.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from wuffchat.auth.v1 import auth_service_pb2 as auth_pb
from wuffchat.auth.v1 import auth_service_pb2_grpc

from server.app import SERVICE_NAMES, RunningServer, StartupError
from server.config import ConfigError
from tests.support.net import free_port
from tests.support.process import process_env, start_server
from tests.support.redis import RedisServer
from tests.support.servers import Servers

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SECRET = "k3Y-for-tests-only_9fQ2xZ7wL1mN8vB4cR6tY0uI5oP"


async def _status(port: int, service: str) -> int | grpc.StatusCode:
    """The status `service` has on `port`, or the error code of the Check."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))
        except grpc.aio.AioRpcError as err:
            return err.code()
    return int(reply.status)


async def _both(running: RunningServer, service: str) -> tuple[int | grpc.StatusCode, int | grpc.StatusCode]:
    assert running.health_port is not None
    return await _status(running.port, service), await _status(running.health_port, service)


async def test_unary_every_service_has_the_main_ports_status(servers: Servers) -> None:
    async with servers.running(HEALTH_ADDR="127.0.0.1:0") as running:
        assert running.health_port not in (None, running.port)
        for service in ("", *SERVICE_NAMES):
            assert await _both(running, service) == (SERVING, SERVING), service
        assert await _both(running, "no.such.Service") == (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.NOT_FOUND)
        # one servicer behind both ports: a service's change shows on both at once
        await running.health.servicer.set(SERVICE_NAMES[1], NOT_SERVING)
        assert await _both(running, SERVICE_NAMES[1]) == (NOT_SERVING, NOT_SERVING)
        assert await _both(running, SERVICE_NAMES[0]) == (SERVING, SERVING)


async def test_unary_every_other_method_is_unimplemented(servers: Servers) -> None:
    async with servers.running(HEALTH_ADDR="127.0.0.1:0") as running:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.health_port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await auth_service_pb2_grpc.AuthServiceStub(channel).GetCaptcha(auth_pb.GetCaptchaRequest())
            assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
            reflection = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            )
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await reflection.read()
            assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:  # the main port serves it
            await auth_service_pb2_grpc.AuthServiceStub(channel).GetCaptcha(auth_pb.GetCaptchaRequest())


async def test_stream_drain_turns_the_health_port_not_serving_while_the_main_port_still_serves(
    servers: Servers,
) -> None:
    async with servers.running(HEALTH_ADDR="127.0.0.1:0") as running:
        assert running.health_port is not None
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.health_port}") as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
            assert (await watch.read()).status == SERVING
            stopping = asyncio.create_task(running.stop(1.0, drain=1.5))
            assert (await asyncio.wait_for(watch.read(), 5)).status == NOT_SERVING
            for service in ("", *SERVICE_NAMES):
                assert await _both(running, service) == (NOT_SERVING, NOT_SERVING), service
            async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as main:  # calls still served
                await auth_service_pb2_grpc.AuthServiceStub(main).GetCaptcha(auth_pb.GetCaptchaRequest())
            await stopping


async def test_off_by_default(server: RunningServer) -> None:
    assert server.health_port is None


async def test_an_occupied_health_port_is_a_startup_error(servers: Servers) -> None:
    async with servers.running(HEALTH_ADDR="127.0.0.1:0") as running:
        with pytest.raises(StartupError, match="cannot serve health on"):
            async with servers.running(HEALTH_ADDR=f"127.0.0.1:{running.health_port}"):
                pass


def test_the_main_ports_port_is_a_config_error(servers: Servers) -> None:
    port = free_port()
    with pytest.raises(ConfigError, match="HEALTH_ADDR"):
        servers.settings(GRPC_ADDR=f"127.0.0.1:{port}", HEALTH_ADDR=f"0.0.0.0:{port}")


async def test_unary_every_worker_serves_the_health_port(tmp_path: Path, redis_server: RedisServer) -> None:
    env = process_env(
        tmp_path, REDIS_URL=redis_server.url, SECRET_KEY=SECRET, HEALTH_ADDR="127.0.0.1:0", SHUTDOWN_GRACE_SECONDS="2"
    )
    proc = await asyncio.to_thread(start_server, env, "--workers", "2", timeout=60, count=2)
    try:
        records = [json.loads(line) for line in proc.lines if line.startswith("{")]
        ports = {r["health_port"] for r in records if r.get("event") == "listening"}
        assert len(ports) == 1 and ports != {proc.port}, ports  # HEALTH_ADDR=:0 resolved once for all workers
        [health_port] = ports
        for _ in range(6):  # a connection each: the kernel spreads them over the workers
            assert await _status(health_port, SERVICE_NAMES[1]) == SERVING
        proc.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.process.wait, 30)
    finally:
        proc.close()
    assert code == 0
