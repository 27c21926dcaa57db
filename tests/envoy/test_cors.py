"""CORS is answered by Envoy: allowed origins per environment, the gRPC-web headers allowed and exposed."""

from __future__ import annotations

import httpx
import pytest

from tests.support import grpcweb

CHECK = "/grpc.health.v1.Health/Check"
ALLOWED_HEADERS = {
    "authorization",
    "x-api-key",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "content-type",
    "accept-language",
    "x-request-id",
    # W3C trace context: a browser may continue its own trace into the server's (README "Traces")
    "traceparent",
    "tracestate",
}
EXPOSED_HEADERS = {
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "x-request-id",
    "retry-after",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
}


def _split(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",") if part.strip()}


async def _preflight(web: httpx.AsyncClient, origin: str) -> httpx.Response:
    return await web.options(
        CHECK,
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-grpc-web,x-user-agent,authorization",
        },
    )


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://localhost", "http://127.0.0.1:8080"])
async def test_preflight_allowed_origin_answered(web: httpx.AsyncClient, origin: str) -> None:
    response = await _preflight(web, origin)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert _split(response.headers["access-control-allow-methods"]) >= {"post"}
    assert _split(response.headers["access-control-allow-headers"]) == ALLOWED_HEADERS
    assert _split(response.headers["access-control-expose-headers"]) == EXPOSED_HEADERS
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://localhost.evil.example", "http://127.0.0.1.evil.example:80", "null"]
)
async def test_preflight_foreign_origin_not_echoed(web: httpx.AsyncClient, origin: str) -> None:
    response = await _preflight(web, origin)
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-expose-headers" not in response.headers


async def test_unary_allowed_origin_sees_exposed_headers(web: httpx.AsyncClient) -> None:
    reply = await grpcweb.unary(web, CHECK, b"", headers={"origin": "http://localhost:5173"})
    assert reply.grpc_status == 0
    assert reply.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert _split(reply.headers["access-control-expose-headers"]) == EXPOSED_HEADERS


async def test_unary_error_reply_keeps_cors_headers(web: httpx.AsyncClient) -> None:
    """A trailers-only error must stay readable by the page: grpc-status is exposed."""
    reply = await grpcweb.unary(
        web, "/wuffchat.auth.v1.AuthService/NoSuchMethod", b"", headers={"origin": "http://localhost"}
    )
    assert reply.grpc_status == 12  # UNIMPLEMENTED
    assert reply.headers["access-control-allow-origin"] == "http://localhost"
    assert "grpc-status" in _split(reply.headers["access-control-expose-headers"])


async def test_unary_foreign_origin_gets_no_cors_headers(web: httpx.AsyncClient) -> None:
    reply = await grpcweb.unary(web, CHECK, b"", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in reply.headers
