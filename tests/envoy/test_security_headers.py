"""Security headers on every response Envoy sends (success, gRPC error, 404, preflight, rejects); no
`server` and no `x-envoy-*` header. These run over the plain dev listener, so without HSTS (RFC 6797
7.2); tests/envoy/test_tls.py checks HSTS on every https answer."""

from __future__ import annotations

import httpx
import pytest

from tests.support import grpcweb

HSTS = "max-age=31536000; includeSubDomains"
SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-xss-protection": "0",
}


def assert_hardened(headers: httpx.Headers, *, https: bool = False) -> None:
    """Every security header once; HSTS on https answers only."""
    for name, value in SECURITY_HEADERS.items():
        assert headers.get_list(name) == [value], name
    assert headers.get_list("strict-transport-security") == ([HSTS] if https else [])
    permissions = headers["permissions-policy"]
    for feature in ("geolocation=()", "microphone=()", "camera=()"):
        assert feature in permissions
    csp = {d.strip().split(" ")[0]: d.strip() for d in headers["content-security-policy"].split(";")}
    assert csp["script-src"] == "script-src 'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["connect-src"] == "connect-src 'self'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["object-src"] == "object-src 'none'"
    assert "server" not in headers
    assert [name for name in headers if name.lower().startswith("x-envoy")] == []


async def test_unary_success(web: httpx.AsyncClient) -> None:
    reply = await grpcweb.unary(web, "/grpc.health.v1.Health/Check", b"")
    assert reply.grpc_status == 0
    assert_hardened(reply.headers)


@pytest.mark.parametrize(
    ("path", "status"),
    [("/wuffchat.auth.v1.AuthService/NoSuchMethod", 12), ("/no.such.Service/Method", 12)],
)
async def test_unary_grpc_error(web: httpx.AsyncClient, path: str, status: int) -> None:
    reply = await grpcweb.unary(web, path, b"")
    assert reply.grpc_status == status
    assert_hardened(reply.headers)


async def test_stream_success(web: httpx.AsyncClient) -> None:
    async with web.stream(
        "POST",
        "/test.Echo/ServerStream",
        content=grpcweb.encode_request(b"2", text=False),
        headers=grpcweb.request_headers(text=False),
    ) as response:
        assert_hardened(response.headers)


@pytest.mark.parametrize("path", ["/no-such-page", "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"])
async def test_not_found(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert response.status_code == 404
    assert_hardened(response.headers)


@pytest.mark.parametrize("origin", ["http://localhost:5173", "https://evil.example"])
async def test_preflight(web: httpx.AsyncClient, origin: str) -> None:
    response = await web.options(
        "/grpc.health.v1.Health/Check", headers={"origin": origin, "access-control-request-method": "POST"}
    )
    assert_hardened(response.headers)


async def test_header_with_underscore_rejected(web: httpx.AsyncClient) -> None:
    """Rejected by the codec before any filter runs: the local-reply mapper adds the headers."""
    reply = await grpcweb.unary(web, "/grpc.health.v1.Health/Check", b"", headers={"x_api_key": "k"})
    assert reply.http_status == 400
    assert_hardened(reply.headers)


async def test_request_too_large(web: httpx.AsyncClient) -> None:
    reply = await grpcweb.unary(web, "/test.Echo/Unary", b"x" * 200_000)
    assert reply.http_status == 413
    assert_hardened(reply.headers)
