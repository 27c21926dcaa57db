"""Envoy over TLS (issue 15), the real Envoy with certificates made at test time (tests/support/pki.py).

The https listener: gRPC-web and plain gRPC through it and on over mutual TLS to the real server (which
wants a client certificate of the test CA); TLS 1.3 preferred, 1.2 only with forward-secret AEAD ciphers,
1.0 and 1.1 refused by Envoy; ALPN h2 and http/1.1; a client refuses a wrong CA, a wrong host name and an
expired certificate; HSTS on https answers. The plain listener answers every request with 308 to https,
without HSTS. Certificate files moved into place are served without a restart. Without its client
certificate, or trusting another CA, Envoy's upstream fails and the call ends UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import time
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from cryptography import x509
from grpc_health.v1 import health_pb2, health_pb2_grpc

from scripts.envoy_tls import CIPHER_SUITES
from scripts.render_envoy import EdgeOptions, options_from_env
from server.app import RunningServer
from tests.envoy.test_security_headers import assert_hardened
from tests.support import grpcweb
from tests.support.edge import running_edge_server
from tests.support.envoy import EnvoyProcess, start_envoy
from tests.support.pki import Pki, make_pki, server_certificate

SERVING = health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING).SerializeToString()
CHECK = "/grpc.health.v1.Health/Check"


@dataclass(frozen=True)
class Handshake:
    version: str
    cipher: str
    alpn: str | None
    certificate: x509.Certificate


def _context(ca: Path, **versions: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    for attribute, version in versions.items():
        setattr(context, attribute, version)
    return context


def _handshake_blocking(port: int, context: ssl.SSLContext, host: str) -> Handshake:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        cipher = tls.cipher()
        assert der is not None and cipher is not None
        return Handshake(
            str(tls.version()), cipher[0], tls.selected_alpn_protocol(), x509.load_der_x509_certificate(der)
        )


async def handshake(port: int, context: ssl.SSLContext, host: str = "localhost") -> Handshake:
    return await asyncio.to_thread(_handshake_blocking, port, context, host)


def edge_options(pki: Pki, *, cert: Path | None = None, key: Path | None = None, client_cert: bool = True,
                 upstream_ca: Path | None = None) -> EdgeOptions:  # fmt: skip
    """TLS on the listener, a redirect listener (start_envoy gives it a free port), TLS to the server."""
    env = {
        "ENVOY_TLS_CERT_FILE": str(cert or pki.server_cert),
        "ENVOY_TLS_KEY_FILE": str(key or pki.server_key),
        "ENVOY_REDIRECT_ADDR": "127.0.0.1:80",
        "ENVOY_UPSTREAM_CA_FILE": str(upstream_ca or pki.ca),
    }
    if client_cert:
        env |= {"ENVOY_UPSTREAM_CERT_FILE": str(pki.client_cert), "ENVOY_UPSTREAM_KEY_FILE": str(pki.client_key)}
    return options_from_env("dev", env, static_dir=None)


async def _envoy(server: RunningServer, workdir: Path, options: EdgeOptions) -> EnvoyProcess:
    return await asyncio.to_thread(start_envoy, server.port, workdir, options=options)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("edge-pki"))


@pytest.fixture(scope="module")
async def mtls_server(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    """The server with TLS on its port and a client certificate of the test CA required (mutual TLS)."""
    tls = {
        "GRPC_TLS_CERT_FILE": pki.server_cert,
        "GRPC_TLS_KEY_FILE": pki.server_key,
        "GRPC_TLS_CLIENT_CA_FILE": pki.ca,
    }
    async with running_edge_server(
        tmp_path_factory.mktemp("tls-server"), **{name: str(path) for name, path in tls.items()}
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def tls_envoy(
    mtls_server: RunningServer, pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[EnvoyProcess]:
    proxy = await _envoy(mtls_server, tmp_path_factory.mktemp("tls-envoy"), edge_options(pki))
    yield proxy
    await asyncio.to_thread(proxy.close)


@pytest.fixture
async def https(tls_envoy: EnvoyProcess, pki: Pki) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=tls_envoy.url, verify=_context(pki.ca), timeout=10) as client:
        yield client


@pytest.mark.parametrize("text", [False, True], ids=["binary", "text"])
async def test_unary_grpc_web_over_tls_and_mutual_tls_upstream(https: httpx.AsyncClient, text: bool) -> None:
    reply = await grpcweb.unary(https, CHECK, b"", text=text)
    assert (reply.grpc_status, reply.messages) == (0, [SERVING]), reply
    assert_hardened(reply.headers, https=True)


async def test_unary_grpc_web_over_http2_by_alpn(tls_envoy: EnvoyProcess, pki: Pki) -> None:
    """A browser that negotiates h2 gets gRPC-web over HTTP/2 on the same port."""
    async with httpx.AsyncClient(base_url=tls_envoy.url, verify=_context(pki.ca), http2=True, timeout=10) as client:
        reply = await grpcweb.unary(client, CHECK, b"")
        page = await client.get("/no-such-page")
    assert (reply.grpc_status, reply.messages) == (0, [SERVING]), reply
    assert page.http_version == "HTTP/2"
    assert_hardened(page.headers, https=True)


async def test_unary_plain_grpc_over_tls(tls_envoy: EnvoyProcess, pki: Pki) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes())
    async with grpc.aio.secure_channel(f"127.0.0.1:{tls_envoy.port}", credentials) as channel:
        call = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        reply = await call
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        headers = await call.initial_metadata()
    assert headers.get_all("strict-transport-security") == ["max-age=31536000; includeSubDomains"]


async def test_https_errors_and_local_replies_carry_hsts(https: httpx.AsyncClient) -> None:
    assert_hardened((await https.get("/no-such-page")).headers, https=True)
    rejected = await grpcweb.unary(https, CHECK, b"", headers={"x_api_key": "k"})  # refused by the codec
    assert rejected.http_status == 400
    assert_hardened(rejected.headers, https=True)


async def test_tls_1_3_is_preferred_and_alpn_offers_h2_and_http11(tls_envoy: EnvoyProcess, pki: Pki) -> None:
    context = _context(pki.ca)
    context.set_alpn_protocols(["h2", "http/1.1"])
    best = await handshake(tls_envoy.port, context)
    assert (best.version, best.alpn) == ("TLSv1.3", "h2")
    http1 = _context(pki.ca)
    http1.set_alpn_protocols(["http/1.1"])
    assert (await handshake(tls_envoy.port, http1)).alpn == "http/1.1"


async def test_tls_1_2_only_with_forward_secret_aead_ciphers(tls_envoy: EnvoyProcess, pki: Pki) -> None:
    tls12 = _context(pki.ca, maximum_version=ssl.TLSVersion.TLSv1_2)
    agreed = await handshake(tls_envoy.port, tls12)
    assert agreed.version == "TLSv1.2" and agreed.cipher in CIPHER_SUITES, agreed
    cbc = _context(pki.ca, maximum_version=ssl.TLSVersion.TLSv1_2)
    cbc.set_ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384")  # CBC suites the certificate could do
    with pytest.raises(ssl.SSLError, match="HANDSHAKE_FAILURE"):
        await handshake(tls_envoy.port, cbc)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=["TLSv1.0", "TLSv1.1"])
async def test_tls_1_0_and_1_1_are_refused_by_envoy(tls_envoy: EnvoyProcess, pki: Pki, version: ssl.TLSVersion) -> None:
    with warnings.catch_warnings():  # Python deprecates setting these versions; we mean to
        warnings.simplefilter("ignore", DeprecationWarning)
        old = _context(pki.ca, minimum_version=version, maximum_version=version)
    old.set_ciphers("DEFAULT:@SECLEVEL=0")  # so our OpenSSL really offers the old version
    with pytest.raises(ssl.SSLError) as refused:
        await handshake(tls_envoy.port, old)
    # Envoy's protocol_version alert to our hello, not our OpenSSL declining to try.
    assert "TLSV1_ALERT_PROTOCOL_VERSION" in str(refused.value), refused.value


@pytest.mark.parametrize("case", ["wrong CA", "wrong host name"])
async def test_the_client_refuses_what_it_cannot_verify(tls_envoy: EnvoyProcess, pki: Pki, case: str) -> None:
    ca, host = (pki.stranger_cert, "localhost") if case == "wrong CA" else (pki.ca, "chat.wuffchat.example")
    with pytest.raises(ssl.SSLCertVerificationError) as refused:
        await handshake(tls_envoy.port, _context(ca), host)
    reason = "unable to get local issuer certificate" if case == "wrong CA" else "Hostname mismatch"
    assert reason in str(refused.value)
    assert (await handshake(tls_envoy.port, _context(pki.ca), "localhost")).version == "TLSv1.3"  # the control


async def test_the_client_refuses_an_expired_certificate(mtls_server: RunningServer, pki: Pki, tmp_path: Path) -> None:
    expired = server_certificate(pki, tmp_path / "expired.pem", tmp_path / "expired.key", expired=True)
    assert expired.not_valid_after_utc.timestamp() < time.time()
    options = edge_options(pki, cert=tmp_path / "expired.pem", key=tmp_path / "expired.key")
    proxy = await _envoy(mtls_server, tmp_path, options)
    try:
        with pytest.raises(ssl.SSLCertVerificationError, match="certificate has expired"):
            await handshake(proxy.port, _context(pki.ca))
        lenient = _context(pki.ca)
        lenient.check_hostname, lenient.verify_mode = False, ssl.CERT_NONE
        assert (await handshake(proxy.port, lenient)).certificate == expired  # served, and refused for its age
    finally:
        await asyncio.to_thread(proxy.close)


async def test_the_plain_listener_redirects_to_https_without_hsts(tls_envoy: EnvoyProcess) -> None:
    assert tls_envoy.redirect_port is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{tls_envoy.redirect_port}", timeout=10) as plain:
        page = await plain.get("/some/page?lang=de")
        call = await grpcweb.unary(plain, CHECK, b"")  # never proxied: no gRPC answer over plain HTTP
    assert page.status_code == 308
    assert page.headers["location"] == f"https://127.0.0.1:{tls_envoy.port}/some/page?lang=de"
    assert (call.http_status, call.grpc_status) == (308, None)
    assert call.headers["location"] == f"https://127.0.0.1:{tls_envoy.port}{CHECK}"
    for response_headers in (page.headers, call.headers):
        assert_hardened(response_headers, https=False)


async def test_moved_certificate_files_are_served_without_a_restart(
    mtls_server: RunningServer, pki: Pki, tmp_path: Path
) -> None:
    live = tmp_path / "certs"
    live.mkdir()
    first = server_certificate(pki, live / "tls.crt", live / "tls.key")
    proxy = await _envoy(mtls_server, tmp_path, edge_options(pki, cert=live / "tls.crt", key=live / "tls.key"))
    try:
        assert (await handshake(proxy.port, _context(pki.ca))).certificate == first
        second = server_certificate(pki, live / ".next.crt", live / ".next.key")
        os.replace(live / ".next.key", live / "tls.key")  # key first: Envoy refuses the mismatched pair ...
        await asyncio.sleep(1.0)
        assert (await handshake(proxy.port, _context(pki.ca))).certificate == first  # ... and keeps the old one
        os.replace(live / ".next.crt", live / "tls.crt")  # ... until the whole new pair is there
        deadline = time.monotonic() + 20
        served = first
        while served != second and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            served = (await handshake(proxy.port, _context(pki.ca))).certificate
        assert served == second, "Envoy still serves the old certificate 20 s after the rotation"
        async with httpx.AsyncClient(base_url=proxy.url, verify=_context(pki.ca), timeout=10) as client:
            assert (await grpcweb.unary(client, CHECK, b"")).grpc_status == 0
    finally:
        await asyncio.to_thread(proxy.close)


@pytest.mark.parametrize("case", ["no client certificate", "server signed by another CA"])
async def test_the_upstream_fails_unverified_or_without_a_client_certificate(
    mtls_server: RunningServer, pki: Pki, tmp_path: Path, case: str
) -> None:
    if case == "no client certificate":
        options = edge_options(pki, client_cert=False)
    else:
        options = edge_options(pki, upstream_ca=pki.stranger_cert)
    proxy = await _envoy(mtls_server, tmp_path, options)
    try:
        async with httpx.AsyncClient(base_url=proxy.url, verify=_context(pki.ca), timeout=10) as client:
            reply = await grpcweb.unary(client, CHECK, b"")
        assert reply.grpc_status == grpc.StatusCode.UNAVAILABLE.value[0], reply
        credentials = grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes())
        async with grpc.aio.secure_channel(f"127.0.0.1:{proxy.port}", credentials) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert failed.value.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        await asyncio.to_thread(proxy.close)
