"""TLS on the gRPC port: server credentials from the certificate files of `ServerSettings`.

With `GRPC_TLS_CERT_FILE` and `GRPC_TLS_KEY_FILE` the port speaks TLS (grpc core: TLS 1.2 at least, 1.3
preferred, ALPN h2); with `GRPC_TLS_CLIENT_CA_FILE` too, every caller must present a client certificate
that CA signed (mutual TLS, for Envoy and internal callers). Without them the port is plaintext, which
APP_ENV=prod allows only on a loopback address.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from server.config import ServerSettings


def server_credentials(settings: ServerSettings) -> grpc.ServerCredentials | None:
    """The port's credentials, or None for plaintext. The files were checked readable at configuration."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    chain = Path(settings.tls_cert_file).read_bytes()
    key = Path(settings.tls_key_file).read_bytes()
    client_ca = Path(settings.tls_client_ca_file).read_bytes() if settings.tls_client_ca_file else None
    return grpc.ssl_server_credentials(
        [(key, chain)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )
