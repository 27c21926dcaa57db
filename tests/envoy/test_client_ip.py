"""A browser cannot choose the client IP the server sees (and so its rate-limit key) through Envoy.

Envoy runs with use_remote_address and xff_num_trusted_hops 0 and replaces x-forwarded-for with the
peer address; the server believes x-forwarded-for only from TRUSTED_PROXIES (127.0.0.1/32, Envoy).
Two observation points: the rate-limit key itself (the x-ratelimit-remaining trailer of the public,
IP-keyed GetCaptcha counts down in one bucket whatever the browser claims), and a test-only handler on
the real server, the echo service of tests/support/echo.py, whose reply carries
`rpc.call.current().client_ip`. The client connects from 127.0.0.2 (another loopback address) so
that its own address differs from Envoy's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support import grpcweb
from tests.support.auth import SERVICE_KEY
from tests.support.envoy import EnvoyProcess

SPOOFED = "203.0.113.66"


@pytest.fixture
async def browser_at_127_0_0_2(envoy: EnvoyProcess) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(base_url=envoy.url, transport=transport, timeout=10) as client:
        yield client


async def _seen_ip(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    reply = await grpcweb.unary(client, "/test.Echo/Unary", b"ip", headers={**headers, "x-api-key": SERVICE_KEY})
    assert reply.grpc_status == 0, reply.grpc_message
    return reply.messages[0].decode().split("|")[1]


async def test_unary_server_sees_the_browser_address(browser_at_127_0_0_2: httpx.AsyncClient) -> None:
    assert await _seen_ip(browser_at_127_0_0_2, {}) == "127.0.0.2"


@pytest.mark.parametrize(
    "spoof",
    [
        {"x-forwarded-for": SPOOFED},
        {"x-forwarded-for": f"{SPOOFED}, 127.0.0.1"},
        {"x-real-ip": SPOOFED, "forwarded": f"for={SPOOFED}"},
        {"x-envoy-external-address": SPOOFED},
    ],
)
async def test_unary_spoofed_forwarding_headers_ignored(
    browser_at_127_0_0_2: httpx.AsyncClient, web: httpx.AsyncClient, spoof: dict[str, str]
) -> None:
    assert await _seen_ip(browser_at_127_0_0_2, spoof) == "127.0.0.2"
    # Even a browser on Envoy's own address (a trusted proxy address) cannot push a hop in.
    assert await _seen_ip(web, spoof) == "127.0.0.1"


async def _remaining(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    reply = await grpcweb.unary(client, "/wuffchat.auth.v1.AuthService/GetCaptcha", b"", headers=headers)
    assert reply.grpc_status == 0, reply.grpc_message
    return int(reply.trailers["x-ratelimit-remaining"])


async def test_unary_spoofed_xff_does_not_change_the_rate_limit_key(browser_at_127_0_0_2: httpx.AsyncClient) -> None:
    spoofs = [{}, {"x-forwarded-for": SPOOFED}, {"x-forwarded-for": "198.51.100.1"}, {"x-forwarded-for": "10.9.8.7"}]
    counts = [await _remaining(browser_at_127_0_0_2, spoof) for spoof in spoofs]
    assert counts == list(range(counts[0], counts[0] - len(spoofs), -1))  # one bucket: 127.0.0.2's
