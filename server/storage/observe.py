"""Database spans and error counts, attached to an engine with SQLAlchemy's events.

`observe(engine, metrics)` makes every statement run during a traced call a CLIENT span `db.<verb>`
(`db.system`, `db.operation`; never the statement's parameters) below the call's span (rpc/tracing.py:
outside a traced call, and with tracing off, no span), and counts every driver error as
`wuffchat_dependency_errors_total{dependency="database"}`. SQLAlchemy runs these hooks in the
greenlet that carries the calling task's context, so the span finds its parent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from rpc.metrics import Metrics

_TRACER = trace.get_tracer("wuffchat.storage")
_SPAN = "_wuffchat_span"


def _verb(statement: str) -> str:
    head = statement.lstrip().split(None, 1)
    return head[0].upper() if head else "?"


def _start(system: str, statement: str) -> trace.Span | None:
    """A database span below the current call's span; None outside a traced call."""
    if not trace.get_current_span().is_recording():
        return None
    verb = _verb(statement)
    return _TRACER.start_span(
        f"db.{verb.lower()}", kind=trace.SpanKind.CLIENT, attributes={"db.system": system, "db.operation": verb}
    )


def _failed(span: trace.Span, error: BaseException) -> None:
    span.set_status(trace.Status(trace.StatusCode.ERROR, type(error).__name__))
    span.end()


@contextmanager
def statement_span(system: str, statement: str) -> Iterator[None]:
    """The span of one statement run outside SQLAlchemy's execution (server/storage/compiled.py)."""
    span = _start(system, statement)
    if span is None:
        yield
        return
    try:
        yield
    except BaseException as error:
        _failed(span, error)
        raise
    span.end()


def observe(engine: AsyncEngine, metrics: Metrics | None = None, *, twin: Engine | None = None) -> None:
    """Attach the hooks to `engine`, and to `twin` (its synchronous twin, server/storage/transactions.py)."""
    system = engine.dialect.name

    def before(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        span = _start(system, statement)
        if span is not None:
            setattr(context, _SPAN, span)

    def after(_conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool) -> None:
        span = getattr(context, _SPAN, None)
        if span is not None:
            setattr(context, _SPAN, None)
            span.end()

    def failed(exception_context: ExceptionContext) -> None:
        if metrics is not None and exception_context.sqlalchemy_exception is not None:
            metrics.dependency_errors.labels("database").inc()
        context = exception_context.execution_context
        span = getattr(context, _SPAN, None) if context is not None else None
        if span is not None:
            setattr(context, _SPAN, None)
            _failed(span, exception_context.original_exception)

    for sync in (engine.sync_engine, *([] if twin is None else [twin])):
        event.listen(sync, "before_cursor_execute", before)
        event.listen(sync, "after_cursor_execute", after)
        event.listen(sync, "handle_error", failed)
