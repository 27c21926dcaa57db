"""gRPC-web (binary and text) and plain gRPC through the real Envoy to the real server."""

from __future__ import annotations

import asyncio

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from server.app import RunningServer
from tests.support import grpcweb
from tests.support.auth import SERVICE_KEY
from tests.support.envoy import EnvoyProcess

CHECK = "/grpc.health.v1.Health/Check"
WATCH = "/grpc.health.v1.Health/Watch"
SERVING = health_pb2.HealthCheckResponse.SERVING
FRAMINGS = [pytest.param(False, id="binary"), pytest.param(True, id="text")]


@pytest.mark.parametrize("text", FRAMINGS)
async def test_unary_health_check_serving(web: httpx.AsyncClient, text: bool) -> None:
    reply = await grpcweb.unary(web, CHECK, health_pb2.HealthCheckRequest().SerializeToString(), text=text)
    assert reply.http_status == 200
    assert reply.headers["content-type"].startswith(grpcweb.TEXT if text else grpcweb.BINARY)
    assert reply.grpc_status == 0
    assert [health_pb2.HealthCheckResponse.FromString(m).status for m in reply.messages] == [SERVING]


@pytest.mark.parametrize("text", FRAMINGS)
async def test_unary_unknown_service_not_found(web: httpx.AsyncClient, text: bool) -> None:
    request = health_pb2.HealthCheckRequest(service="no.such.Service").SerializeToString()
    reply = await grpcweb.unary(web, CHECK, request, text=text)
    assert reply.grpc_status == grpc.StatusCode.NOT_FOUND.value[0]
    assert reply.messages == []


@pytest.mark.parametrize("text", FRAMINGS)
async def test_stream_watch_first_status_arrives_while_stream_stays_open(web: httpx.AsyncClient, text: bool) -> None:
    """Watch never ends by itself: getting its first message proves Envoy forwards frames as they come."""
    frames = grpcweb.server_stream(web, WATCH, health_pb2.HealthCheckRequest().SerializeToString(), text=text)
    flags, payload = await asyncio.wait_for(anext(frames), timeout=10)
    await frames.aclose()
    assert flags == 0
    assert health_pb2.HealthCheckResponse.FromString(payload).status == SERVING


@pytest.mark.parametrize("text", FRAMINGS)
async def test_stream_echo_all_messages_then_trailers(web: httpx.AsyncClient, text: bool) -> None:
    stream = grpcweb.server_stream(web, "/test.Echo/ServerStream", b"4", text=text, headers={"x-api-key": SERVICE_KEY})
    frames = [f async for f in stream]
    assert [payload for flags, payload in frames[:-1]] == [b"0", b"1", b"2", b"3"]
    flags, payload = frames[-1]
    assert flags & grpcweb.TRAILER_FLAG
    assert grpcweb.parse_trailers(payload)["grpc-status"] == "0"


async def test_unary_plain_grpc_on_the_same_listener(envoy: EnvoyProcess) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{envoy.port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert reply.status == SERVING


LIST_SERVICES = b"\x3a\x00"  # ServerReflectionRequest{list_services: ""}


@pytest.mark.parametrize(
    "path",
    [
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "//grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/x/../grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection%2FServerReflectionInfo",
        "/grpc%2Ereflection.v1alpha.ServerReflection/ServerReflectionInfo",
    ],
)
async def test_unary_reflection_not_exposed(web: httpx.AsyncClient, path: str) -> None:
    """Reflection is for operators on the server port; no spelling of its path reaches it through Envoy."""
    reply = await grpcweb.unary(web, path, LIST_SERVICES)
    assert reply.http_status in (400, 404) or reply.grpc_status == grpc.StatusCode.UNIMPLEMENTED.value[0]
    assert reply.messages == []


async def test_unary_reflection_reachable_on_the_server_port(edge_server: RunningServer) -> None:
    """The request above is a real reflection request: sent straight to the server it is answered."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{edge_server.port}") as channel:
        call = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        replies = [r async for r in call(iter([LIST_SERVICES]))]
    assert b"grpc.health.v1.Health" in replies[0]


async def test_unary_oversized_request_rejected(web: httpx.AsyncClient) -> None:
    reply = await grpcweb.unary(web, "/test.Echo/Unary", b"x" * 200_000)
    assert reply.http_status == 413


async def test_unary_request_id_reaches_the_server_and_comes_back_as_header(web: httpx.AsyncClient) -> None:
    rid = "browser-req-0001"
    request = health_pb2.HealthCheckRequest().SerializeToString()
    reply = await grpcweb.unary(web, CHECK, request, headers={"x-request-id": rid})
    assert reply.headers["x-request-id"] == rid  # Envoy echoes it
    assert reply.trailers.get("x-request-id") == rid  # the server adopted the same id
