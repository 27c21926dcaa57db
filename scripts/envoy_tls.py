"""TLS for the rendered Envoy (scripts/render_envoy.py): the https listener, the plain listener that only
redirects to it, and TLS or mutual TLS from Envoy to the server.

Every certificate, key and CA reaches Envoy through SDS from a file (`path_config_source`): one small
secret file per secret beside the rendered configuration, naming the PEM files. Envoy watches those PEM
files (and, when certificate and key share a directory, that directory) for moves and reloads them
without a restart, so a certificate is rotated by moving new files into place (Kubernetes swaps its
`..data` link in the mounted directory, which counts). A half-done rotation (new key, old certificate)
is refused by Envoy, which keeps serving the pair it has.

HSTS goes on the https listener's answers only: a browser must ignore it over plain HTTP (RFC 6797 7.2),
and the redirect listener must not send it either.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Json = dict[str, Any]

SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"  # noqa: S105  # a type name
HSTS: Json = {
    "header": {"key": "strict-transport-security", "value": "max-age=31536000; includeSubDomains"},
    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
}
# TLS 1.2 ciphers: forward secret AEADs only (Mozilla "intermediate"); TLS 1.3 has only such suites.
CIPHER_SUITES = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
)
TLS_PARAMS: Json = {
    "tls_minimum_protocol_version": "TLSv1_2",
    "tls_maximum_protocol_version": "TLSv1_3",
    "cipher_suites": list(CIPHER_SUITES),
    "ecdh_curves": ["X25519", "P-256"],
}
EDGE_CERTIFICATE = "edge_certificate"
UPSTREAM_CERTIFICATE = "upstream_client_certificate"
UPSTREAM_CA = "upstream_ca"
HTTPS_PORT = 443


class TlsError(ValueError):
    """A TLS variable is invalid; the message is one line naming it."""


@dataclass(frozen=True)
class ServingTls:
    """The https listener's certificate chain and key (ENVOY_TLS_CERT_FILE, ENVOY_TLS_KEY_FILE)."""

    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class UpstreamTls:
    """TLS from Envoy to the server: the CA that signed the server's certificate, the name to check in
    it (None: the upstream address, an IP SAN), and Envoy's client certificate for mutual TLS."""

    ca_file: Path
    server_name: str | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


def is_ip(host: str) -> bool:
    """Whether `host` is an IP address (v4 or v6, without brackets) rather than a DNS name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def readable(name: str, raw: str) -> Path:
    """`raw` as an absolute path, once it is known to be a readable file.

    Raises:
        TlsError: the file cannot be read; the message names the variable `name`.
    """
    path = Path(raw)
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as err:
        raise TlsError(f"{name} must be a readable file, got {raw!r} ({err.strerror})") from None
    return path.resolve()


def _pair(environ: Mapping[str, str], cert_name: str, key_name: str) -> tuple[Path, Path] | None:
    cert, key = environ.get(cert_name, ""), environ.get(key_name, "")
    if bool(cert) != bool(key):
        raise TlsError(f"{cert_name} and {key_name} go together: set both or neither")
    return (readable(cert_name, cert), readable(key_name, key)) if cert else None


def serving_tls_from_env(environ: Mapping[str, str]) -> ServingTls | None:
    """ENVOY_TLS_CERT_FILE and ENVOY_TLS_KEY_FILE, both or neither.

    Raises:
        TlsError: only one is set, or a file is unreadable.
    """
    pair = _pair(environ, "ENVOY_TLS_CERT_FILE", "ENVOY_TLS_KEY_FILE")
    return ServingTls(*pair) if pair else None


def upstream_tls_from_env(environ: Mapping[str, str]) -> UpstreamTls | None:
    """ENVOY_UPSTREAM_CA_FILE (TLS to the server), ENVOY_UPSTREAM_SERVER_NAME, and
    ENVOY_UPSTREAM_CERT_FILE with ENVOY_UPSTREAM_KEY_FILE (Envoy's client certificate, mutual TLS).

    Raises:
        TlsError: a client certificate or a server name without the CA, a file unreadable.
    """
    pair = _pair(environ, "ENVOY_UPSTREAM_CERT_FILE", "ENVOY_UPSTREAM_KEY_FILE")
    server_name = environ.get("ENVOY_UPSTREAM_SERVER_NAME", "").strip() or None
    ca = environ.get("ENVOY_UPSTREAM_CA_FILE", "")
    if not ca:
        if pair or server_name:
            named = "ENVOY_UPSTREAM_CERT_FILE" if pair else "ENVOY_UPSTREAM_SERVER_NAME"
            raise TlsError(f"{named} needs ENVOY_UPSTREAM_CA_FILE (the server's certificate is always verified)")
        return None
    cert, key = pair or (None, None)
    return UpstreamTls(readable("ENVOY_UPSTREAM_CA_FILE", ca), server_name, cert, key)


def _sds(name: str, sds_dir: Path) -> Json:
    return {
        "name": name,
        "sds_config": {"path_config_source": {"path": str(sds_dir / f"{name}.json")}, "resource_api_version": "V3"},
    }


def _watched(*files: Path) -> Json:
    """Reload on a move into the files' directory (a Kubernetes secret's link swap) when they share one;
    otherwise Envoy watches each file for moves."""
    directories = {file.parent for file in files}
    return {"watched_directory": {"path": str(files[0].parent)}} if len(directories) == 1 else {}


def _certificate_secret(name: str, cert_file: Path, key_file: Path) -> Json:
    return {
        "@type": SECRET_TYPE,
        "name": name,
        "tls_certificate": {
            "certificate_chain": {"filename": str(cert_file)},
            "private_key": {"filename": str(key_file)},
            **_watched(cert_file, key_file),
        },
    }


def secrets(serving: ServingTls | None, upstream: UpstreamTls | None, sds_dir: Path) -> dict[Path, Json]:
    """The SDS files the rendered configuration names: path -> a DiscoveryResponse with one Secret."""
    found: list[Json] = []
    if serving is not None:
        found.append(_certificate_secret(EDGE_CERTIFICATE, serving.cert_file, serving.key_file))
    if upstream is not None:
        found.append(
            {
                "@type": SECRET_TYPE,
                "name": UPSTREAM_CA,
                "validation_context": {"trusted_ca": {"filename": str(upstream.ca_file)}, **_watched(upstream.ca_file)},
            }
        )
        if upstream.cert_file is not None and upstream.key_file is not None:
            found.append(_certificate_secret(UPSTREAM_CERTIFICATE, upstream.cert_file, upstream.key_file))
    return {sds_dir / f"{secret['name']}.json": {"resources": [secret]} for secret in found}


def serving_transport_socket(sds_dir: Path) -> Json:
    """The https listener's TLS: 1.2 at least, 1.3 preferred, AEAD ciphers, ALPN h2 then http/1.1."""
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": {
                "tls_params": copy.deepcopy(TLS_PARAMS),
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_certificate_sds_secret_configs": [_sds(EDGE_CERTIFICATE, sds_dir)],
            },
        },
    }


def upstream_transport_socket(upstream: UpstreamTls, upstream_host: str, sds_dir: Path) -> Json:
    """TLS to the server: its certificate verified against the CA and the name (a DNS SAN, sent as SNI)
    or, without ENVOY_UPSTREAM_SERVER_NAME, the address (an IP SAN for an IP, a DNS SAN otherwise)."""
    name = upstream.server_name or upstream_host
    san_type = "IP_ADDRESS" if is_ip(name) else "DNS"
    san = {"san_type": san_type, "matcher": {"exact": name}}
    common: Json = {
        "tls_params": copy.deepcopy(TLS_PARAMS),
        "alpn_protocols": ["h2"],
        "combined_validation_context": {
            "default_validation_context": {"match_typed_subject_alt_names": [san]},
            "validation_context_sds_secret_config": _sds(UPSTREAM_CA, sds_dir),
        },
    }
    if upstream.cert_file is not None:
        common["tls_certificate_sds_secret_configs"] = [_sds(UPSTREAM_CERTIFICATE, sds_dir)]
    context: Json = {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        "common_tls_context": common,
    }
    if san_type == "DNS":
        context["sni"] = name
    return {"name": "envoy.transport_sockets.tls", "typed_config": context}


def add_hsts(hcm: Json) -> None:
    """HSTS on every answer of this (https) connection manager: its filter's and its local replies'."""
    mutation = next(f for f in hcm["http_filters"] if f["name"] == "envoy.filters.http.header_mutation")
    mutation["typed_config"]["mutations"]["response_mutations"].append({"append": copy.deepcopy(HSTS)})
    for mapper in hcm["local_reply_config"]["mappers"]:
        mapper["headers_to_add"].append(copy.deepcopy(HSTS))


def redirect_listener(edge_listener: Json, address: Json, https_port: int) -> Json:
    """A plain listener that answers every request with 308 to the same URL on https (the method and
    body survive a 308, so a gRPC-web POST is resent, not turned into a GET). The edge listener's
    connection manager minus its proxying: same bounds, access log and security headers, no HSTS."""
    hcm: Json = copy.deepcopy(edge_listener["filter_chains"][0]["filters"][0]["typed_config"])
    hcm["stat_prefix"] = "redirect"
    hcm.pop("always_set_request_id_in_response", None)
    hcm["http_filters"] = [
        f
        for f in hcm["http_filters"]
        if f["name"] in ("envoy.filters.http.header_mutation", "envoy.filters.http.router")
    ]
    redirect: Json = {"https_redirect": True, "response_code": "PERMANENT_REDIRECT"}
    if https_port != HTTPS_PORT:
        redirect["port_redirect"] = https_port
    routes = [{"match": {"prefix": "/"}, "redirect": redirect}]
    hcm["route_config"] = {
        "name": "redirect",
        "virtual_hosts": [{"name": "redirect", "domains": ["*"], "routes": routes}],
    }
    filters = [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]
    return {
        "name": "redirect",
        "address": address,
        "per_connection_buffer_limit_bytes": edge_listener.get("per_connection_buffer_limit_bytes", 1048576),
        "filter_chains": [{"filters": filters}],
    }
