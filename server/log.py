"""JSON log lines on stdout, one object per line, UTC timestamps.

structlog loggers (the server's own) take structlog's fast path: processors, then one write, with no
stdlib `logging` machinery per call. The per-call audit line, written on every RPC, goes through
`rpc_logger()`: the same line shape (fields, event, level, UTC timestamp) encoded and written
directly, without the processor chain. Libraries that use stdlib `logging` (alembic, grpc, asyncio)
are rendered to the same JSON shape by a ProcessorFormatter. Every line is encoded by orjson, which
escapes newlines inside values, so a log line can never be split by input.

Traces: every line written inside a traced call (interceptors/tracing.py) carries `trace_id` and
`span_id` (W3C hex) of the running span, so a log line leads to its trace and back; the per-call line
included. With tracing off no span exists and the fields are left out.

Third-party libraries log at the configured level like everything else: the handler filters by
level too, because some set their own logger to DEBUG (bm25s logs "Building index from IDs objects").

Flushing: structlog's and stdlib's lines are flushed one by one. The per-call lines are flushed once
per event-loop iteration (all lines written while the loop ran its ready callbacks go out in one
write): under load that is one system call for many calls instead of one per call. A clean exit
flushes stdout; a killed process can lose the lines of the iteration it was killed in.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

import orjson
import structlog
from opentelemetry import trace

_LINE = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE


def _dumps(event_dict: Any, **_options: Any) -> str:
    return orjson.dumps(event_dict, default=repr).decode()


def _trace_ids() -> dict[str, str] | None:
    """`trace_id` and `span_id` of the running span, or None outside a recording span."""
    span = trace.get_current_span()
    if not span.is_recording():
        return None
    ids = span.get_span_context()
    return {"trace_id": format(ids.trace_id, "032x"), "span_id": format(ids.span_id, "016x")}


def add_trace_ids(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the running span's ids (see the module docstring)."""
    ids = _trace_ids()
    if ids is not None:
        event_dict.update(ids)
    return event_dict


# libraries that set their own loggers below the configured level
_THIRD_PARTY = ("bm25s", "weaviate", "httpx", "openai", "aiosqlite", "asyncio")

_SHARED: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    add_trace_ids,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
_RENDER: list[structlog.types.Processor] = [
    structlog.processors.format_exc_info,
    structlog.processors.JSONRenderer(serializer=_dumps),
]


class InfoLogger(Protocol):
    def info(self, event: str, **fields: Any) -> Any: ...


class JsonLineLogger:
    """Writes `info` events as JSON lines shaped like structlog's, skipping its processor chain."""

    def __init__(self, stream: TextIO, level: int) -> None:
        self._stream = stream
        self._enabled = level <= logging.INFO
        self._flush_scheduled = False

    def info(self, event: str, **fields: Any) -> None:
        if not self._enabled:
            return
        if _PROCESS:
            fields = {**_PROCESS, **fields}
        ids = _trace_ids()
        if ids is not None:
            fields.update(ids)
        fields["event"] = event
        fields["level"] = "info"
        fields["timestamp"] = datetime.now(UTC)  # "...T12:34:56.789012Z" (OPT_UTC_Z)
        self._stream.write(orjson.dumps(fields, default=repr, option=_LINE).decode())
        self._flush_soon()

    def _flush_soon(self) -> None:
        """Flush after the loop's current iteration (see the module docstring); at once outside a loop."""
        if self._flush_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._stream.flush()
            return
        self._flush_scheduled = True
        loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._stream.flush()


_PROCESS: dict[str, Any] = {}  # fields of every line this process writes (bind_process)
_configured: dict[str, InfoLogger] = {}  # "rpc" -> the JsonLineLogger of configure_logging


def rpc_logger() -> InfoLogger:
    """The per-call line's logger: JsonLineLogger once logging is configured, else structlog's."""
    configured = _configured.get("rpc")
    return configured if configured is not None else structlog.get_logger("wuffchat.rpc")


def configure_logging(level: str, *, stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging to JSON lines on `stream` (stdout) at `level`."""
    out = stream if stream is not None else sys.stdout
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_RENDER],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    handler.setLevel(level)  # a library's own DEBUG logger (bm25s) still stops here
    for name in _THIRD_PARTY:
        library = logging.getLogger(name)
        if library.level < logging.getLevelNamesMapping()[level]:
            library.setLevel(level)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    structlog.configure(
        processors=[*_SHARED, *_RENDER],
        logger_factory=structlog.WriteLoggerFactory(file=out),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        cache_logger_on_first_use=True,
    )
    _configured["rpc"] = JsonLineLogger(out, logging.getLevelNamesMapping()[level])


def bind_process(**fields: Any) -> None:
    """Add `fields` (e.g. the worker index) to every line this process writes from now on."""
    _PROCESS.update(fields)
    structlog.contextvars.bind_contextvars(**fields)
