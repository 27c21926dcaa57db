"""Audit logging, second in the chain: one JSON log line per call with the status the client gets.

It sits right inside the context interceptor (it needs the request id, client IP and user agent)
and outside error scrubbing, so the status it logs is the scrubbed one the client really received.
The line (event "rpc") holds: timestamp (UTC, from server/log.py), request_id, method, principal
(`kind:id`, never a token), client_ip, status, duration_ms, user_agent. The JSON encoder escapes
newlines, and values that could still split a line for a reader (U+2028 and other non-printable
characters) are escaped here, so a caller cannot forge log lines. Security events go to the
hash-chained table through the audit sink (protocols.AuditSink), recorded by the interceptor that
sees them. Where the line is written is the application's choice (`line_logger`; server/log.py's
`rpc_logger` in production).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import grpc
import structlog

from rpc import call

from .base import Context, Interceptor, RpcInfo, StreamProceed, UnaryProceed

_log = structlog.get_logger("wuffchat.rpc")


def printable(text: str) -> str:
    """`text` with every non-printable character (line and paragraph separators too) as \\uXXXX."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)


def final_status(context: Context, failure: BaseException | None) -> str:
    """The status name the client gets: the code set on `context`, else from how the handler ended."""
    code: Any = context.code()  # None until set; a StatusCode (or its int) after set_code / abort
    if code is not None:
        name = code.name if isinstance(code, grpc.StatusCode) else _CODE_NAMES.get(code, str(code))
        if name != "OK":
            return name
    if failure is None:
        return "OK"
    return "CANCELLED" if isinstance(failure, asyncio.CancelledError | GeneratorExit) else "UNKNOWN"


_CODE_NAMES = {status.value[0]: status.name for status in grpc.StatusCode}


class LineLogger(Protocol):
    def info(self, event: str, **fields: Any) -> Any: ...


def _structlog_rpc_logger() -> LineLogger:
    logger: LineLogger = structlog.get_logger("wuffchat.rpc")
    return logger


class AuditInterceptor(Interceptor):
    """Writes the per-call log line; see the module docstring."""

    def __init__(
        self, *, logger: LineLogger | None = None, line_logger: Callable[[], LineLogger] | None = None
    ) -> None:
        """`logger` writes every line; else `line_logger()` is asked per line (logging may be configured
        after the chain is built), structlog's "wuffchat.rpc" logger when neither is given."""
        super().__init__()
        self._log = logger
        self._line_logger = line_logger or _structlog_rpc_logger

    async def unary(self, info: RpcInfo, request: Any, context: Context, proceed: UnaryProceed) -> Any:
        started = time.perf_counter()
        failure: BaseException | None = None
        try:
            return await proceed(request, context)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            self._write(info, context, started, failure)

    async def stream(self, info: RpcInfo, request: Any, context: Context, proceed: StreamProceed) -> AsyncIterator[Any]:
        started = time.perf_counter()
        failure: BaseException | None = None
        try:
            async for response in proceed(request, context):
                yield response
        except BaseException as exc:
            failure = exc
            raise
        finally:
            self._write(info, context, started, failure)

    def _write(self, info: RpcInfo, context: Context, started: float, failure: BaseException | None) -> None:
        try:
            state = call.current()
            principal = state.principal
            (self._log if self._log is not None else self._line_logger()).info(
                "rpc",
                request_id=state.request_id,
                method=printable(info.method),
                principal=principal.owner_key if principal is not None else None,
                client_ip=state.client_ip,
                status=final_status(context, failure),
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                user_agent=printable(state.user_agent),
            )
        except Exception:  # logging must never turn a finished call into an error
            _log.exception("audit_log_failed", method=printable(info.method))
