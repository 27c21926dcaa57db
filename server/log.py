"""JSON log lines on stdout, one object per line, UTC timestamps.

structlog loggers (the server's own, the per-call "rpc" line of interceptors/audit.py included) take
structlog's fast path: processors, then one write, with no stdlib `logging` machinery per call.
Libraries that use stdlib `logging` (alembic, grpc, asyncio) are rendered to the same JSON shape by a
ProcessorFormatter. Every line is encoded by orjson, which escapes newlines inside values, so a log
line can never be split by input.

Traces: every line written inside a traced call (interceptors/tracing.py) carries `trace_id` and
`span_id` (W3C hex) of the running span, so a log line leads to its trace and back; the per-call line
included. With tracing off no span exists and the fields are left out.

Third-party libraries log at the configured level like everything else: the handler filters by
level too, because some set their own logger to DEBUG (bm25s logs "Building index from IDs objects").

Flushing: every line is written and flushed on its own, so a killed process loses no line it wrote.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import orjson
import structlog
from opentelemetry import trace


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


def bind_process(**fields: Any) -> None:
    """Add `fields` (e.g. the worker index) to every line this process writes from now on.

    Bound in the process's context before the server starts, so every call's task inherits them.
    """
    structlog.contextvars.bind_contextvars(**fields)
