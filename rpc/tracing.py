"""Child spans for the work a call does (database, Redis, retrieval, responder), below its SERVER span.

`child("retrieval.search", backend="embedded")` opens a span only when the running code is inside
a recording span (a traced call, interceptors/tracing.py): background work (health probes, the
sweeper) starts no traces of its own, and with tracing off the cost is one context-variable read.
Spans go to the process's tracer provider (server/tracing.py sets it when OTEL_* turn tracing on).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry import trace

_TRACER = trace.get_tracer("wuffchat")


def active() -> bool:
    """True inside a recording span (a traced call)."""
    return trace.get_current_span().is_recording()


@contextlib.contextmanager
def child(name: str, **attributes: str | int | float | bool) -> Iterator[trace.Span | None]:
    """An INTERNAL (or CLIENT, for `peer`-like names) span named `name` below the current one, or None.

    An exception leaving the block is recorded on the span and marks it ERROR, then propagates.
    """
    if not trace.get_current_span().is_recording():
        yield None
        return
    kind = (
        trace.SpanKind.CLIENT
        if name.split(".", maxsplit=1)[0] in ("db", "redis", "weaviate", "openai")
        else trace.SpanKind.INTERNAL
    )
    with _TRACER.start_as_current_span(name, kind=kind, attributes=attributes) as span:
        yield span
