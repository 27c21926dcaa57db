"""The context interceptor: request id, client IP (XFF only from trusted proxies), language."""

from __future__ import annotations

import ipaddress

import pytest

from interceptors.context import ContextInterceptor, client_ip, peer_ip, preferred_language
from tests.support.echo import echo_server

LOCAL = [ipaddress.ip_network("127.0.0.1/32")]


def test_peer_ip_forms() -> None:
    assert peer_ip("ipv4:10.1.2.3:5555") == "10.1.2.3"
    assert peer_ip("ipv6:[::1]:5555") == "::1"


@pytest.mark.parametrize(
    ("peer", "xff", "trusted", "expected"),
    [
        ("ipv4:203.0.113.9:1", "1.2.3.4", [], "203.0.113.9"),  # untrusted peer: header ignored
        ("ipv4:127.0.0.1:1", "1.2.3.4", LOCAL, "1.2.3.4"),  # trusted proxy: header believed
        ("ipv4:127.0.0.1:1", "6.6.6.6, 1.2.3.4", LOCAL, "1.2.3.4"),  # client-spoofed left part ignored
        ("ipv4:127.0.0.1:1", "1.2.3.4, 127.0.0.1", LOCAL, "1.2.3.4"),  # trusted hops skipped
        ("ipv4:127.0.0.1:1", "not-an-ip", LOCAL, "127.0.0.1"),  # malformed: trust nothing
    ],
)
def test_client_ip(peer: str, xff: str, trusted: list[ipaddress.IPv4Network], expected: str) -> None:
    assert client_ip(peer, xff, trusted) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, "de"), ("en", "en"), ("en-US,en;q=0.9", "en"), ("fr, en;q=0.5", "en"), ("fr", "de"), ("de-AT", "de")],
)
def test_preferred_language(header: str | None, expected: str) -> None:
    assert preferred_language(header) == expected


async def test_unary_spoofed_xff_from_untrusted_peer_changes_nothing() -> None:
    async with echo_server([ContextInterceptor(trusted_proxies=[])]) as channel:
        reply = await channel.unary_unary("/test.Echo/Unary")(b"x", metadata=(("x-forwarded-for", "6.6.6.6"),))
    assert reply.split(b"|")[1] == b"127.0.0.1"


async def test_unary_xff_from_trusted_proxy_is_used() -> None:
    async with echo_server([ContextInterceptor(trusted_proxies=LOCAL)]) as channel:
        reply = await channel.unary_unary("/test.Echo/Unary")(b"x", metadata=(("x-forwarded-for", "198.51.100.7"),))
    assert reply.split(b"|")[1] == b"198.51.100.7"


async def test_unary_request_id_is_taken_and_echoed() -> None:
    async with echo_server([ContextInterceptor()]) as channel:
        call = channel.unary_unary("/test.Echo/Unary")(b"x", metadata=(("x-request-id", "req-12345678"),))
        reply = await call
        trailers = await call.trailing_metadata()
    assert reply.split(b"|")[3] == b"req-12345678"
    assert trailers["x-request-id"] == "req-12345678"


async def test_unary_malformed_request_id_is_replaced() -> None:
    async with echo_server([ContextInterceptor()]) as channel:
        call = channel.unary_unary("/test.Echo/Unary")(b"x", metadata=(("x-request-id", "bad id with spaces"),))
        reply = await call
    request_id = reply.split(b"|")[3].decode()
    assert len(request_id) == 32 and request_id != "bad id with spaces"


async def test_unary_accept_language_en() -> None:
    async with echo_server([ContextInterceptor()]) as channel:
        reply = await channel.unary_unary("/test.Echo/Unary")(b"x", metadata=(("accept-language", "en-GB"),))
    assert reply.split(b"|")[2] == b"en"
