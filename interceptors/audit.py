"""Audit logging, second in the chain: one JSON log line per call with the status the client gets.

It sits right inside the context interceptor (it needs the request id, client IP and user agent)
and outside error scrubbing, so the status it logs is the scrubbed one the client really received.
The line (event "rpc", structlog's "wuffchat.rpc" logger, rendered like every other line by
server/log.py) holds: timestamp (UTC), request_id, method, principal (`kind:id`, never a token),
client_ip, status, duration_ms, user_agent. The JSON encoder escapes newlines, and values that could
still split a line for a reader (U+2028 and other non-printable characters) are escaped here, so a
caller cannot forge log lines. Security events go to the hash-chained table through the audit sink
(protocols.AuditSink), recorded by the interceptor that sees them.
"""

from __future__ import annotations

from typing import Any, Protocol

import structlog

from rpc import call

from .base import Context, Outcome, Recording, RpcInfo

_log = structlog.get_logger("wuffchat.rpc")


def printable(text: str) -> str:
    """`text` with every non-printable character (line and paragraph separators too) as \\uXXXX."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)


class LineLogger(Protocol):
    def info(self, event: str, **fields: Any) -> Any: ...


class AuditInterceptor(Recording[RpcInfo]):
    """Writes the per-call log line; see the module docstring."""

    def __init__(self, *, logger: LineLogger | None = None) -> None:
        """`logger` writes every line; structlog's "wuffchat.rpc" logger when not given."""
        super().__init__()
        self._log: LineLogger = logger if logger is not None else _log

    def begin(self, info: RpcInfo, context: Context) -> RpcInfo:
        return info

    def end(self, record: RpcInfo, outcome: Outcome) -> None:
        try:
            state = call.current()
            principal = state.principal
            self._log.info(
                "rpc",
                request_id=state.request_id,
                method=printable(record.method),
                principal=principal.owner_key if principal is not None else None,
                client_ip=state.client_ip,
                status=outcome.code.name,
                duration_ms=round(outcome.duration * 1000, 3),
                user_agent=printable(state.user_agent),
            )
        except Exception:  # logging must never turn a finished call into an error
            _log.exception("audit_log_failed", method=printable(record.method))
