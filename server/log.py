"""JSON log lines on stdout, one object per line, UTC timestamps.

structlog loggers (the server's own, including the per-call audit line) take structlog's fast path:
processors, then one write, with no stdlib `logging` machinery per call. Libraries that use stdlib
`logging` (alembic, grpc, asyncio) are rendered to the same JSON shape by a ProcessorFormatter.
Newlines inside values are escaped by the JSON encoder, so a log line can never be split by input.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

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
