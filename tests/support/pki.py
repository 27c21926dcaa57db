"""Certificates made at test time (`issue`), and a small PKI: a CA, a server certificate for
127.0.0.1/localhost and a client certificate it signed, and a stranger (its own CA and client certificate)
for the refusals; `server_certificate` issues further server certificates of the CA (a rotation, an
expired one)."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path  # signed by another CA
    stranger_key: Path
    ca_key: Path


def name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path


def issue(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey], *, ca: bool,
    usage: x509.ObjectIdentifier | None = None, sans: list[x509.GeneralName] | None = None, expired: bool = False,
) -> x509.Certificate:  # fmt: skip
    """Valid from a minute ago for an hour, or (`expired`) from two hours ago until an hour ago."""
    now = datetime.datetime.now(datetime.UTC)
    start = now - (datetime.timedelta(hours=2) if expired else datetime.timedelta(minutes=1))
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(issuer[0])
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer[1], hashes.SHA256())


def write_pem(cert: x509.Certificate, path: Path) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


LOCAL_SANS: tuple[x509.GeneralName, ...] = (
    x509.DNSName("localhost"),
    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
)


def server_certificate(pki: Pki, cert: Path, key: Path, *, expired: bool = False) -> x509.Certificate:
    """Another server certificate of the PKI's CA for 127.0.0.1/localhost (new key), written to `cert`/`key`."""
    ca = x509.load_pem_x509_certificate(pki.ca.read_bytes())
    ca_key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    server_key = ec.generate_private_key(ec.SECP256R1())
    issued = issue("localhost", server_key, (ca.subject, ca_key), ca=False, usage=ExtendedKeyUsageOID.SERVER_AUTH,
                   sans=list(LOCAL_SANS), expired=expired)  # fmt: skip
    write_key(server_key, key)
    write_pem(issued, cert)
    return issued


def make_pki(directory: Path) -> Pki:
    """Write the PKI's PEM files into `directory`."""
    ca_key, other_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = issue("WuffChat test CA", ca_key, (name("WuffChat test CA"), ca_key), ca=True)
    other = issue("Stranger CA", other_key, (name("Stranger CA"), other_key), ca=True)
    server_key, client_key, stranger_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    server = issue("localhost", server_key, (ca.subject, ca_key), ca=False, usage=ExtendedKeyUsageOID.SERVER_AUTH,
                    sans=list(LOCAL_SANS))  # fmt: skip
    client = issue("envoy", client_key, (ca.subject, ca_key), ca=False, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    stranger = issue("stranger", stranger_key, (other.subject, other_key), ca=False,
                      usage=ExtendedKeyUsageOID.CLIENT_AUTH)  # fmt: skip
    return Pki(
        ca=write_pem(ca, directory / "ca.pem"),
        server_cert=write_pem(server, directory / "server.pem"),
        server_key=write_key(server_key, directory / "server.key"),
        client_cert=write_pem(client, directory / "client.pem"),
        client_key=write_key(client_key, directory / "client.key"),
        stranger_cert=write_pem(stranger, directory / "stranger.pem"),
        stranger_key=write_key(stranger_key, directory / "stranger.key"),
        ca_key=write_key(ca_key, directory / "ca.key"),
    )
