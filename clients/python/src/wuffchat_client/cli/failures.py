"""A failed call as the one line the CLI prints: in the run's language, saying what is wrong and what to do.

The server's messages come localized (the call's `accept-language`) and are kept; a rejected field is named
and its reason worded here from its rule id (protovalidate describes rules in English). Failures of the
connection itself (no server, TLS on one side only, no answer in time) carry gRPC's internals, never shown:
they are told apart by the error text and a plain TCP connect to the target.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

import grpc

from wuffchat_client import errors
from wuffchat_client._channel import TargetError, parse_target
from wuffchat_client.cli.texts import has, text

_TLS_WORDS = re.compile(r"ssl|tls|handshake|certificate|wrong_version_number", re.IGNORECASE)
_CLOSED_WORDS = re.compile(r"socket closed|connection reset|broken pipe|end of tcp stream", re.IGNORECASE)
_NUMBER = re.compile(r"\d+")
# Commands after which "log in" is no advice: they are the login.
_LOGIN_COMMANDS = frozenset({"login", "register"})


@dataclass(frozen=True)
class Call:
    """What the message needs to know about the run."""

    language: str
    target: str
    tls: bool
    ca_file: str | None
    timeout: float
    command: str


def _reachable(call: Call) -> bool:
    try:
        endpoint = parse_target(call.target, tls=call.tls, ca_file=call.ca_file)
    except TargetError:
        return False
    host, _, port = endpoint.address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=2):
            return True
    except (OSError, ValueError):
        return False


def connection_problem(call: Call, exc: errors.WuffChatError) -> str:
    """Unavailable without the server's reason: the connection failed, not the server."""
    tls = call.tls or call.ca_file is not None or call.target.startswith("https://")
    raw = exc.message
    if _TLS_WORDS.search(raw):
        return text(call.language, "tls_failed", target=call.target)
    if not _reachable(call):
        return text(call.language, "unreachable", target=call.target)
    if not tls and _CLOSED_WORDS.search(raw):
        return text(call.language, "plaintext_to_tls", target=call.target)
    if exc.code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return text(call.language, "too_slow", target=call.target, seconds=f"{call.timeout:g}")
    if tls:
        return text(call.language, "tls_failed", target=call.target)
    return text(call.language, "unreachable", target=call.target)


def violation(language: str, found: errors.FieldViolation) -> str:
    """`Passwort: mindestens 8 Zeichen` for one rejected field."""
    leaf = re.sub(r"\[\d+\]$", "", found.field.rsplit(".", 1)[-1])
    label = text(language, f"field_{leaf}") if has(language, f"field_{leaf}") else found.field
    if found.localized_message and found.locale.lower().startswith(language):
        why = found.localized_message
    elif has(language, f"rule_{found.reason}"):
        number = _NUMBER.search(found.description)
        short = f"rule_{found.reason}_short"
        if number is None and has(language, short):
            why = text(language, short)
        else:
            why = text(language, f"rule_{found.reason}", n=number.group() if number else "")
    elif not found.reason or language == "en":
        why = found.description  # the server's own checks word it in the call's language
    else:
        why = text(language, "rule_other")
    return f"{label}: {why}" if label else why


def describe(call: Call, exc: errors.WuffChatError) -> str:
    """The line for `exc` (without the `wuffchat: ` prefix)."""
    if isinstance(exc, errors.Unavailable) and exc.reason is None:
        return connection_problem(call, exc)
    message = str(errors.WuffChatError.__str__(exc))
    if isinstance(exc, errors.InvalidArgument) and exc.field_violations:
        return f"{message} ({'; '.join(violation(call.language, v) for v in exc.field_violations)})"
    if isinstance(exc, errors.Unauthenticated) and call.command not in _LOGIN_COMMANDS:
        return f"{message} {text(call.language, 'login_hint')}"
    return message  # RateLimited: the server's message says how long to wait
