"""CORS_ORIGINS: the one validator for the server's configuration and scripts/render_envoy.py.

An origin is `scheme://host[:port]` exactly as a browser sends it in the Origin header (no path, query,
fragment or userinfo); Envoy matches it byte for byte, so hosts are lowercased and default ports dropped.
In production the list is required, every origin is https, and none is local: no loopback
(127.0.0.0/8, ::1, localhost, *.localhost), no unspecified (0.0.0.0, ::) and no link-local address.
Development allows http and local origins (added to Envoy's localhost origins).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

NAME = "CORS_ORIGINS"
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERIC = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")  # browsers read a host ending in a number as IPv4
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SHAPE = f"{NAME} entries must look like https://host[:port]"


class OriginError(ValueError):
    """A CORS origin is malformed or not allowed; the message is one line naming CORS_ORIGINS."""


def parse_origins(raw: str, *, prod: bool) -> tuple[str, ...]:
    """Comma-separated origins, normalized; `prod` applies the production rules.

    Raises:
        OriginError: a malformed origin, or in production an empty list, http or a local host.
    """
    origins = tuple(_origin(part.strip(), prod=prod) for part in raw.split(",") if part.strip())
    if prod and not origins:
        raise OriginError(f"{NAME} must name the allowed https origins when APP_ENV=prod")
    return origins


def _origin(text: str, *, prod: bool) -> str:
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise OriginError(f"{_SHAPE}, got {text!r}") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    wellformed = scheme in _DEFAULT_PORTS and text.lower().startswith(f"{scheme}://")
    if not wellformed or parts.path or parts.query or parts.fragment or "@" in parts.netloc or port == 0:
        raise OriginError(f"{_SHAPE}, got {text!r}")
    address = _address(host, text)
    if prod and scheme != "https":
        raise OriginError(f"{NAME} must be https origins when APP_ENV=prod, got {text!r}")
    if prod and _local(host, address):
        raise OriginError(f"{NAME} must not be loopback, unspecified or link-local when APP_ENV=prod, got {text!r}")
    shown = f"[{host}]" if isinstance(address, ipaddress.IPv6Address) else host
    return f"{scheme}://{shown}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{shown}:{port}"


def _address(host: str, text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The host's IP address, None for a DNS name; a host that is neither is malformed."""
    if "%" in host:  # an IPv6 zone never appears in an Origin header
        raise OriginError(f"{_SHAPE}, got {text!r}")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    labels = host.split(".")
    if not all(_LABEL.match(label) for label in labels) or _NUMERIC.match(labels[-1]):
        raise OriginError(f"{_SHAPE}, got {text!r}")
    return None


def _local(host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
    if address is None:
        return host == "localhost" or host.endswith(".localhost")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified or address.is_link_local
