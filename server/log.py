"""JSON log lines on stdout, one object per line, UTC timestamps.

structlog loggers (the server's own) take structlog's fast path: processors, then one write, with no
stdlib `logging` machinery per call. The per-call audit line, written on every RPC, goes through
`rpc_logger()`: the same line shape (fields, event, level, UTC timestamp) encoded and written
directly, which costs a third of the processor chain. Libraries that use stdlib
`logging` (alembic, grpc, asyncio) are rendered to the same JSON shape by a ProcessorFormatter.
Newlines inside values are escaped by the JSON encoder, so a log line can never be split by input.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

import structlog

# One encoder for every line: `json.dumps` with non-default options builds a new encoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=repr)


def _dumps(event_dict: Any, **_options: Any) -> str:
    return _ENCODER.encode(event_dict)


_SHARED: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
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

    def info(self, event: str, **fields: Any) -> None:
        if not self._enabled:
            return
        bound = structlog.contextvars.get_contextvars()  # e.g. the worker index, as structlog would merge
        if bound:
            fields = {**bound, **fields}
        fields["event"] = event
        fields["level"] = "info"
        fields["timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        self._stream.write(_ENCODER.encode(fields) + "\n")
        self._stream.flush()


_configured: dict[str, InfoLogger] = {}  # "rpc" -> the JsonLineLogger of configure_logging


def rpc_logger() -> InfoLogger:
    """The per-call line's logger: JsonLineLogger once logging is configured, else structlog's."""
    configured = _configured.get("rpc")
    return configured if configured is not None else structlog.get_logger("wuffchat.rpc")


def configure_logging(level: str) -> None:
    """Route structlog and stdlib logging to JSON lines on stdout at `level`."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_RENDER],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    structlog.configure(
        processors=[*_SHARED, *_RENDER],
        logger_factory=structlog.WriteLoggerFactory(file=sys.stdout),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        cache_logger_on_first_use=True,
    )
    _configured["rpc"] = JsonLineLogger(sys.stdout, logging.getLevelNamesMapping()[level])
