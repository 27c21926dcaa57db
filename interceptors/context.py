"""Outermost interceptor: establish the call's facts (request id, client IP, language) for all others.

The client IP is the direct peer, unless that peer is a trusted proxy (`TRUSTED_PROXIES`, e.g. Envoy):
then it is the right-most address in `x-forwarded-for` that is not itself a trusted proxy. A header
from an untrusted peer is ignored, so it cannot change rate-limit keys or audit records.
The request id comes from a well-formed `x-request-id` or is new; it is echoed in the trailing metadata.
"""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Sequence
from typing import Any

from rpc import call
from rpc.call import CallState

from .base import Context, Interceptor, RpcInfo

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
SUPPORTED_LANGUAGES = ("de", "en")
_READ = frozenset({"x-request-id", "x-forwarded-for", "accept-language", "user-agent"})


def new_request_id() -> str:
    """32 hex digits (128 random bits), shaped like uuid4().hex.

    A request id names a call in logs and error references; it is no secret (a caller may send its
    own), so it comes from `random` (reseeded in forked workers) instead of a system call per call.
    """
    return f"{random.getrandbits(128):032x}"  # nosec B311  # no secret (see above)


def peer_ip(peer: str) -> str:
    """'ipv4:1.2.3.4:5' -> '1.2.3.4', 'ipv6:[::1]:5' -> '::1', anything else unchanged."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    return peer


def _is_trusted(ip: str, trusted: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in trusted)


def client_ip(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The caller's IP, believing `x-forwarded-for` only from a trusted proxy."""
    direct = peer_ip(peer)
    if not forwarded_for or not _is_trusted(direct, trusted):
        return direct
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return direct  # a malformed chain: trust nothing in it
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else direct


def preferred_language(accept_language: str | None) -> str:
    """The first supported language in `accept-language` (weights ignored), German by default."""
    if not accept_language:
        return "de"
    for part in (accept_language or "").split(","):
        primary = part.split(";")[0].strip().lower().split("-")[0]
        if primary in SUPPORTED_LANGUAGES:
            return primary
    return "de"


class ContextInterceptor(Interceptor):
    """Creates the `CallState` of every call (see rpc/call.py)."""

    def __init__(self, *, trusted_proxies: Sequence[Network] = ()) -> None:
        super().__init__()
        self._trusted = tuple(trusted_proxies)

    def _state(self, info: RpcInfo, context: Context) -> CallState:
        received = tuple(context.invocation_metadata() or ())
        metadata = {key: value for key, value in received if key in _READ and isinstance(value, str)}
        rid = metadata.get("x-request-id")
        return CallState(
            method=info.method,
            request_id=rid if rid is not None and _REQUEST_ID.match(rid) else new_request_id(),
            client_ip=client_ip(context.peer(), metadata.get("x-forwarded-for"), self._trusted),
            language=preferred_language(metadata.get("accept-language")),
            user_agent=metadata.get("user-agent", "")[:200],
            metadata=received,
        )

    async def before(self, info: RpcInfo, request: Any, context: Context) -> None:
        state = self._state(info, context)
        call.bind(state)  # each RPC runs in its own task, so nothing leaks to other calls
        # In the trailers, not the headers: an early header send costs a write per call. Envoy
        # echoes the same id as a response header for browsers (always_set_request_id_in_response).
        call.add_trailing_metadata(context, (("x-request-id", state.request_id),))
