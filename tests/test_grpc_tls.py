"""TLS and mutual TLS on the gRPC port (issue 15), with certificates made at test time (tests/support/pki.py):
a real handshake to the real server; plaintext, an untrusted CA and a wrong host name fail for the client;
with GRPC_TLS_CLIENT_CA_FILE a caller without a client certificate, or with one of another CA, is refused;
configuration mistakes stop the start with one line; prod refuses a public plaintext port; the Python
client and its CLI present a client certificate."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from wuffchat_client import AsyncClient
from wuffchat_client._channel import TargetError
from wuffchat_client.errors import Unavailable

from server.app import RunningServer
from server.config import ConfigError, load_settings
from tests.clients.python.cli.conftest import Cli
from tests.support.pki import Pki, make_pki
from tests.support.prod import prod_env
from tests.support.servers import Servers


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)


async def _status(port: int, credentials: grpc.ChannelCredentials | None, host: str | None = None) -> int:
    options = [("grpc.ssl_target_name_override", host)] if host else []
    target = f"127.0.0.1:{port}"
    channel = (
        grpc.aio.secure_channel(target, credentials, options=options)
        if credentials
        else grpc.aio.insecure_channel(target)
    )
    async with channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        return int(reply.status)


@pytest.fixture
async def tls_server(servers: Servers, pki: Pki) -> RunningServer:
    return await servers.start(GRPC_TLS_CERT_FILE=str(pki.server_cert), GRPC_TLS_KEY_FILE=str(pki.server_key))


@pytest.fixture
async def mtls_server(servers: Servers, pki: Pki) -> RunningServer:
    return await servers.start(
        GRPC_TLS_CERT_FILE=str(pki.server_cert),
        GRPC_TLS_KEY_FILE=str(pki.server_key),
        GRPC_TLS_CLIENT_CA_FILE=str(pki.ca),
    )


async def test_a_trusted_client_gets_through_tls(tls_server: RunningServer, pki: Pki) -> None:
    trusted = grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes())
    assert await _status(tls_server.port, trusted) == health_pb2.HealthCheckResponse.SERVING
    assert await _status(tls_server.port, trusted, host="localhost") == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("case", ["plaintext", "untrusted CA", "wrong host name"])
async def test_the_client_refuses_what_it_cannot_verify(tls_server: RunningServer, pki: Pki, case: str) -> None:
    credentials = {
        "plaintext": None,
        "untrusted CA": grpc.ssl_channel_credentials(root_certificates=pki.stranger_cert.read_bytes()),
        "wrong host name": grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes()),
    }[case]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _status(tls_server.port, credentials, host="chat.wuffchat.example" if case == "wrong host name" else None)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE


async def test_mutual_tls_needs_a_client_certificate_of_our_ca(mtls_server: RunningServer, pki: Pki) -> None:
    ca = pki.ca.read_bytes()
    ours = grpc.ssl_channel_credentials(ca, pki.client_key.read_bytes(), pki.client_cert.read_bytes())
    assert await _status(mtls_server.port, ours) == health_pb2.HealthCheckResponse.SERVING
    for credentials in (
        grpc.ssl_channel_credentials(ca),  # no client certificate
        grpc.ssl_channel_credentials(ca, pki.stranger_key.read_bytes(), pki.stranger_cert.read_bytes()),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _status(mtls_server.port, credentials)
        assert refused.value.code() is grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"GRPC_TLS_CERT_FILE": "{cert}"}, "GRPC_TLS_KEY_FILE"),
        ({"GRPC_TLS_CLIENT_CA_FILE": "{ca}"}, "GRPC_TLS_CLIENT_CA_FILE"),
        ({"GRPC_TLS_CERT_FILE": "/nonexistent/cert.pem", "GRPC_TLS_KEY_FILE": "{key}"}, "GRPC_TLS_CERT_FILE"),
    ],
    ids=["cert-without-key", "ca-without-cert", "unreadable-cert"],
)
def test_configuration_mistakes_stop_the_start(pki: Pki, env: dict[str, str], named: str) -> None:
    files = {"cert": str(pki.server_cert), "key": str(pki.server_key), "ca": str(pki.ca)}
    with pytest.raises(ConfigError, match=named) as error:
        load_settings({name: value.format(**files) for name, value in env.items()})
    assert "\n" not in str(error.value)


def test_prod_refuses_a_public_plaintext_port(pki: Pki) -> None:
    with pytest.raises(ConfigError, match="GRPC_TLS_CERT_FILE"):
        load_settings(prod_env(GRPC_ADDR="0.0.0.0:50051"))
    assert load_settings(prod_env(GRPC_ADDR="127.0.0.1:50051")).is_prod  # behind Envoy on loopback
    tls = load_settings(
        prod_env(
            GRPC_ADDR="0.0.0.0:50051", GRPC_TLS_CERT_FILE=str(pki.server_cert), GRPC_TLS_KEY_FILE=str(pki.server_key)
        )
    )
    assert tls.server.tls_cert_file == str(pki.server_cert)


async def test_the_python_client_presents_a_client_certificate(mtls_server: RunningServer, pki: Pki) -> None:
    target = f"https://127.0.0.1:{mtls_server.port}"
    async with AsyncClient(
        target, ca_file=str(pki.ca), cert_file=str(pki.client_cert), key_file=str(pki.client_key), timeout=5
    ) as client:
        assert await client.health() == "SERVING"
    async with AsyncClient(target, ca_file=str(pki.ca), timeout=5) as client:
        with pytest.raises(Unavailable):  # no client certificate: the handshake is refused
            await client.health()
    with pytest.raises(TargetError, match="both"):
        AsyncClient(target, ca_file=str(pki.ca), cert_file=str(pki.client_cert))


async def test_the_cli_presents_a_client_certificate(mtls_server: RunningServer, pki: Pki, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    cli = Cli(f"https://127.0.0.1:{mtls_server.port}", tmp_path / "home")
    tls = ("--ca-file", str(pki.ca), "--timeout", "5")
    ok = await cli.run(*tls, "--cert-file", str(pki.client_cert), "--key-file", str(pki.client_key), "health")
    assert ok.code == 0, ok.stderr
    half = await cli.run("--lang", "en", *tls, "--cert-file", str(pki.client_cert), "health")
    assert half.code == 2 and "--cert-file and --key-file go together" in half.stderr, half.stderr
