"""The grpc.aio channel production services expect: keepalive, message sizes, retries, TLS when asked.

Targets: `host:port` (plaintext), `http://host:port` (plaintext), `https://host[:port]` (TLS, port 443
by default). `tls=True` forces TLS on a bare target; `ca_file` names a PEM bundle to trust instead of
the system roots; `cert_file` and `key_file` present a client certificate (mutual TLS; they imply TLS).
Retries: the gRPC retry policy in the service config retries UNAVAILABLE on the
idempotent (read-only) methods only; a Login or a refresh is never sent twice by gRPC. A message
(SendMessage) is resent only on ABORTED: the server stored nothing of it because another turn of the
conversation came first (on another instance, say).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf import descriptor_pb2
from wuffchat.auth.v1 import auth_service_pb2
from wuffchat.conversation.v1 import conversation_service_pb2
from wuffchat.knowledge.v1 import knowledge_service_pb2

from wuffchat_client._version import __version__

DEFAULT_TARGET = "127.0.0.1:50051"
MAX_RECEIVE_BYTES = 16 * 1024 * 1024  # an ExportMyData answer can be large
MAX_SEND_BYTES = 1024 * 1024

HEALTH_CHECK = ("grpc.health.v1.Health", "Check")
_SERVICES = (
    auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"],
    conversation_service_pb2.DESCRIPTOR.services_by_name["ConversationService"],
    knowledge_service_pb2.DESCRIPTOR.services_by_name["KnowledgeService"],
)


def _idempotent_methods() -> tuple[tuple[str, str], ...]:
    """Methods without side effects (`idempotency_level = NO_SIDE_EFFECTS` in the contracts)."""
    level = descriptor_pb2.MethodOptions.IdempotencyLevel.NO_SIDE_EFFECTS
    return (
        HEALTH_CHECK,
        *(
            (service.full_name, method.name)
            for service in _SERVICES
            for method in service.methods
            if method.GetOptions().idempotency_level == level
        ),
    )


# Safe to resend when the connection failed (UNAVAILABLE).
IDEMPOTENT_METHODS: tuple[tuple[str, str], ...] = _idempotent_methods()

RETRY_POLICY = {
    "maxAttempts": 4,
    "initialBackoff": "0.2s",
    "maxBackoff": "2s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}


# ABORTED on SendMessage means the turn was not stored (optimistic concurrency on the conversation).
TURN_METHODS: tuple[tuple[str, str], ...] = (("wuffchat.conversation.v1.ConversationService", "SendMessage"),)
TURN_RETRY_POLICY = {**RETRY_POLICY, "retryableStatusCodes": ["ABORTED"]}


class TargetError(ValueError):
    """The target cannot be used (unknown scheme, unreadable CA file)."""


@dataclass(frozen=True)
class Endpoint:
    """Where to connect and whether with TLS."""

    address: str
    tls: bool
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


def parse_target(
    target: str,
    *,
    tls: bool = False,
    ca_file: str | None = None,
    cert_file: str | None = None,
    key_file: str | None = None,
) -> Endpoint:
    """Split a target into address and TLS choice (see the module docstring).

    Raises:
        TargetError: an unknown scheme, `http://` together with TLS options, or only one of
            `cert_file` and `key_file`.
    """
    if (cert_file is None) != (key_file is None):
        raise TargetError("a client certificate needs both cert_file and key_file")
    found = _parse_target(target, tls=tls or cert_file is not None, ca_file=ca_file)
    return Endpoint(found.address, found.tls, found.ca_file, cert_file, key_file)


def _parse_target(target: str, *, tls: bool, ca_file: str | None) -> Endpoint:
    scheme, sep, rest = target.partition("://")
    if not sep:
        return Endpoint(target, tls or ca_file is not None, ca_file)
    rest = rest.rstrip("/")
    if scheme == "https":
        return Endpoint(rest if ":" in rest.rsplit("]", 1)[-1] else f"{rest}:443", True, ca_file)
    if scheme == "http":
        if tls or ca_file is not None:
            raise TargetError("an http:// target cannot use TLS; use https:// or host:port")
        return Endpoint(rest if ":" in rest.rsplit("]", 1)[-1] else f"{rest}:80", False)
    raise TargetError(f"unsupported target scheme {scheme!r}; use host:port, http:// or https://")


def service_config() -> str:
    """The channel's service config: the retry policies for the idempotent methods and for a turn."""
    configs = [
        {"name": [{"service": s, "method": m} for s, m in methods], "retryPolicy": policy}
        for methods, policy in ((IDEMPOTENT_METHODS, RETRY_POLICY), (TURN_METHODS, TURN_RETRY_POLICY))
    ]
    return json.dumps({"methodConfig": configs})


def channel_options() -> list[tuple[str, str | int]]:
    return [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", service_config()),
        ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
        ("grpc.max_send_message_length", MAX_SEND_BYTES),
        # Pings keep idle connections through NATs and load balancers; the server permits one per 10 s.
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.primary_user_agent", f"wuffchat-client/{__version__}"),
    ]


def open_channel(endpoint: Endpoint) -> grpc.aio.Channel:
    """A grpc.aio channel for `endpoint`; must be called on the event loop that will use it.

    Raises:
        TargetError: the CA file or the client certificate files cannot be read.
    """
    if not endpoint.tls:
        return grpc.aio.insecure_channel(endpoint.address, options=channel_options())
    roots = None
    if endpoint.ca_file is not None:
        try:
            roots = Path(endpoint.ca_file).read_bytes()
        except OSError as exc:
            raise TargetError(f"cannot read CA file {endpoint.ca_file}: {exc.strerror}") from None
    chain = key = None
    if endpoint.cert_file is not None and endpoint.key_file is not None:
        try:
            chain, key = Path(endpoint.cert_file).read_bytes(), Path(endpoint.key_file).read_bytes()
        except OSError as exc:
            raise TargetError(f"cannot read client certificate file {exc.filename}: {exc.strerror}") from None
    credentials = grpc.ssl_channel_credentials(root_certificates=roots, private_key=key, certificate_chain=chain)
    return grpc.aio.secure_channel(endpoint.address, credentials, options=channel_options())
