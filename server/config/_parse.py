"""Parsers for the values that are more than a number or a word; each raises ValueError with a phrase the
error line puts after the variable's name (or a message that starts with the name)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import limits
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from interceptors.policy import POLICIES
from server import secret_strength
from server.storage import pg_tls

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
API_KEY_ROLES = ("service", "admin")
MIN_SECRET_BYTES = secret_strength.MIN_BYTES
API_KEY_NAME = re.compile(r"^[A-Za-z0-9._-]{1,60}$")  # becomes part of the principal id (owner keys, audit)

# Per-method rate limits (SPEC.md section 4): each RPC's `rate_limit` in its method policy (protos/),
# `default` for every other method of our services.
# `RATE_LIMITS="Login=10/minute,default=120/minute"` overrides single entries.
DEFAULT_RATE_LIMIT = "60/minute"
DEFAULT_RATE_LIMITS: tuple[tuple[str, str], ...] = (
    *((found.name, found.rate_limit) for found in POLICIES.values() if found.rate_limit is not None),
    ("default", DEFAULT_RATE_LIMIT),
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ApiKeySpec:
    """One `name:role:key` entry of `API_KEYS`."""

    name: str
    role: str
    key: str = field(repr=False)


def items(raw: str) -> list[str]:
    """The non-blank entries of a comma-separated list."""
    return [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]


def grpc_addr(raw: str) -> str:
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"must be host:port with a port of 0 to 65535, got {raw!r}")
    return raw


def database_url(raw: str) -> str:
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ValueError("is not a valid SQLAlchemy URL") from None
    if url.drivername not in SUPPORTED_DRIVERS:
        raise ValueError(f"driver must be one of {', '.join(SUPPORTED_DRIVERS)}, got {url.drivername!r}")
    if url.get_backend_name() == "postgresql":
        pg_tls.parse(url)  # sslmode & co. (server/storage/pg_tls.py); raises ValueError naming the option
    return raw


def redis_url(raw: str) -> str:
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must start with redis://, rediss:// or unix://")
    return raw


def networks(raw: str) -> tuple[Network, ...]:
    found = []
    for part in items(raw):
        try:
            found.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"entries must be IPs or CIDR networks, got {part!r}") from None
    return tuple(found)


def directory(raw: str) -> str:
    if not Path(raw).is_dir():
        raise ValueError(f"must be an existing directory, got {raw!r}")
    return raw


def readable_file(raw: str) -> str:
    try:
        with Path(raw).open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise ValueError(f"must be a readable file, got {raw!r} ({exc.strerror})") from None
    return raw


def http_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return raw


def weaviate_url(raw: str) -> str:
    url = urlsplit(raw)
    try:
        port = url.port
    except ValueError:
        raise ValueError(f"has an invalid port: {raw!r}") from None
    if url.scheme not in ("http", "https") or not url.hostname or url.path not in ("", "/") or port == 0:
        raise ValueError(f"must look like http[s]://host[:port], got {raw!r}")
    return raw


def limit(raw: str) -> str:
    try:
        amount = limits.parse(raw).amount
    except ValueError:
        raise ValueError(f"must look like 20/minute, got {raw!r}") from None
    if amount < 1:
        raise ValueError(f"must allow at least 1, got {raw!r}")
    return raw


def rate_limits(raw: str) -> tuple[tuple[str, str], ...]:
    """`Name=n/period,...` over the defaults: each entry replaces the default of its RPC (or `default`)."""
    known = {found.name for found in POLICIES.values()} | {"default"}
    merged = dict(DEFAULT_RATE_LIMITS)
    for entry in items(raw):
        name, sep, value = (part.strip() for part in entry.partition("="))
        if not sep or name not in known:
            raise ValueError(f"entries must be <RpcName or default>=<n>/<period>, got {entry!r}")
        try:
            item = limits.parse(value)
        except ValueError:
            raise ValueError(f"value for {name} must look like 5/minute, got {value!r}") from None
        if item.amount < 1:
            raise ValueError(f"value for {name} must allow at least 1 call, got {value!r}")
        merged[name] = value
    return tuple(merged.items())


def secret(raw: str) -> bytes:
    value = raw.encode()
    if len(value) < MIN_SECRET_BYTES:
        raise ValueError(f"must be at least {MIN_SECRET_BYTES} bytes long")
    return value


def secret_list(raw: str) -> tuple[bytes, ...]:
    keys = []
    for index, part in enumerate(items(raw), start=1):
        if len(part.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"entry {index} must be at least {MIN_SECRET_BYTES} bytes long")
        keys.append(part.encode())
    return tuple(keys)


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        raise ValueError(f"cannot read {path!r}") from None


def ed25519_private(raw: str) -> bytes:
    pem = _read(raw)
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ValueError("is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("must hold an Ed25519 key (EdDSA)")
    return pem


def ed25519_publics(raw: str) -> tuple[bytes, ...]:
    pems = []
    for path in items(raw):
        pem = _read(path)
        try:
            key = load_pem_public_key(pem)
        except ValueError:
            raise ValueError(f"{path!r} is not a PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{path!r} is not an Ed25519 key")
        pems.append(pem)
    return tuple(pems)


def api_keys(raw: str) -> tuple[ApiKeySpec, ...]:
    specs: list[ApiKeySpec] = []
    for index, entry in enumerate(items(raw), start=1):
        name, _, rest = entry.partition(":")
        role, _, key = rest.partition(":")
        if not API_KEY_NAME.match(name) or role not in API_KEY_ROLES or len(key) < 16:
            # the entry itself is never echoed: it contains the key
            raise ValueError(
                f"entry {index} must be name:role:key (name: up to 60 of A-Z a-z 0-9 . _ -; "
                "role: service or admin; key: 16+ characters)"
            )
        if any(spec.name == name for spec in specs):
            raise ValueError(f"names must be unique, {name!r} appears twice")
        specs.append(ApiKeySpec(name=name, role=role, key=key))
    return tuple(specs)
