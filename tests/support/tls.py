"""TLS for client tests: a self-signed certificate made at test time and a health server behind it."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from grpc_health.v1 import health, health_pb2_grpc

from tests.support.pki import issue, name, write_key, write_pem


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost; returns (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = issue("localhost", key, (name("localhost"), key), ca=True, sans=sans)
    return write_pem(cert, directory / "cert.pem"), write_key(key, directory / "key.pem")


def certificate(directory: Path) -> Path:
    """The certificate `tls_health_server(directory)` serves (made on first use)."""
    cert_path = directory / "cert.pem"
    if not cert_path.exists():
        _certificate(directory)
    return cert_path


@asynccontextmanager
async def tls_health_server(directory: Path) -> AsyncIterator[int]:
    """A gRPC health server on 127.0.0.1 speaking TLS with the certificate of `directory`; yields its port."""
    cert_path = certificate(directory)
    key_path = directory / "key.pem"
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    credentials = grpc.ssl_server_credentials([(key_path.read_bytes(), cert_path.read_bytes())])
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    try:
        yield port
    finally:
        await server.stop(0)
